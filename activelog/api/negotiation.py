"""DRF's content negotiation, remembered: the same Accept header picks the same renderer.

DRF parses the Accept header and matches it against every renderer on each request (4% of the
CPU of one activity under load, issue 17), although the answer depends only on the header, the
``format`` override and the view's renderer classes, all of which repeat from one request to the
next. This class asks DRF once per combination and keeps the answer: the renderer's position in
the view's list and the media type DRF chose. A header DRF refuses (406) is not kept, so it is
refused the same way every time. At most MAX_REMEMBERED combinations are kept (clients send a
handful of distinct headers; an unusual one beyond the limit is negotiated as before, and a
header longer than MAX_HEADER_LENGTH is never kept).
"""

import threading

from rest_framework.negotiation import DefaultContentNegotiation

MAX_REMEMBERED = 256
MAX_HEADER_LENGTH = 512


class RememberedContentNegotiation(DefaultContentNegotiation):
    _answers: dict[tuple, tuple[int, str]] = {}
    _lock = threading.Lock()

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if len(accept) > MAX_HEADER_LENGTH:
            return super().select_renderer(request, renderers, format_suffix)
        fmt = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (accept, fmt, tuple(type(renderer) for renderer in renderers))
        answer = self._answers.get(key)
        if answer is not None:
            index, media_type = answer
            return renderers[index], media_type
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        index = next(i for i, candidate in enumerate(renderers) if candidate is renderer)
        with self._lock:
            if len(self._answers) < MAX_REMEMBERED:
                self._answers[key] = (index, media_type)
        return renderer, media_type
