"""Media storage: private objects, time-limited links, the same behaviour on disk and on S3.

Production (AWS_STORAGE_BUCKET_NAME set) uses django-storages' S3 backend with presigned GET
URLs. The embedded default keeps files on the local disk but still hands out links that expire:
``SignedFileSystemStorage.url(name, expire=...)`` signs the name and the expiry, and
``serve_signed`` (mounted at /media/signed/) serves the file only while the signature holds.
Callers always use ``storage.url(name, expire=seconds)``.
"""

import mimetypes
import time
from urllib.parse import quote, urlencode

from django.core import signing
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.http import require_safe

PHOTO_LINK_SECONDS = 60 * 60
EXPORT_LINK_SECONDS = 15 * 60
_SALT = "activelog.storage.signed-media"


def _signature(name: str, expires: int) -> str:
    return signing.Signer(salt=_SALT).signature(f"{name}:{expires}")


class SignedFileSystemStorage(FileSystemStorage):
    """Local-disk storage whose URLs expire, like presigned S3 links."""

    default_expire = PHOTO_LINK_SECONDS

    def url(self, name, expire=None):
        expires = int(time.time()) + int(expire or self.default_expire)
        query = urlencode({"expires": expires, "signature": _signature(name, expires)})
        return f"{reverse('signed-media', args=[quote(name)])}?{query}"


@require_safe
def serve_signed(request, name):
    """Serve a file from the local media storage while its link is valid (404 otherwise)."""
    try:
        expires = int(request.GET.get("expires", ""))
    except ValueError:
        raise Http404("Invalid link.") from None
    signature = request.GET.get("signature", "")
    if expires < time.time() or not signing.constant_time_compare(signature, _signature(name, expires)):
        raise Http404("This link has expired or is not valid.")
    if not isinstance(default_storage, FileSystemStorage) or not default_storage.exists(name):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=60"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def signed_url(name: str, *, seconds: int, request=None) -> str:
    """A time-limited link to a stored object, absolute when a request is given."""
    url = default_storage.url(name, expire=seconds)
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return url
