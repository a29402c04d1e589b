"""The API's JSON parser: DRF's, with limits on what a hostile document can make Python do.

- Nesting deeper than ``MAX_JSON_DEPTH`` is refused before ``json.loads`` sees the text. The C
  decoder recurses once per level and raises ``RecursionError`` (a 500) somewhere near Python's
  recursion limit, sooner on a thread with a small stack; no request of this API nests more than
  a few levels. The depth is measured without recursion, in time linear in the body's size.
- Lone UTF-16 surrogates (``"\\ud800"``) are refused: they are not Unicode text, and they would
  crash whatever encodes them later (a password hasher, the database driver).
- ``NaN`` and ``Infinity`` are refused as DRF's strict mode does (``STRICT_JSON``).

Every refusal is DRF's ``ParseError``: a 400 validation problem like any malformed JSON.
"""

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 32

# A JSON string (escapes included), and everything that is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (brackets inside strings do not
    count). Regular expressions and C-level iteration only: no recursion, no per-character
    Python loop."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _has_lone_surrogate(data) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class JSONParser(parsers.JSONParser):
    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (ValueError, LookupError) as exc:  # undecodable bytes, unknown charset
            raise ParseError(f"JSON parse error - {exc}") from None
        if nesting_depth(text) > self.max_depth:
            raise ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels.")
        parse_constant = strict_constant if self.strict else None
        try:
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:  # RecursionError: cannot happen below the depth limit
            raise ParseError(f"JSON parse error - {exc}") from None
        if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
            raise ParseError("JSON parse error - a string holds a lone UTF-16 surrogate (not Unicode text).")
        return data
