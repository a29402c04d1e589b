"""Photo image processing: decode to validate, refuse bombs, orient, strip metadata, resize.

Pure image work with Pillow: no database, no storage, no HTTP. ``process_image`` takes one
uploaded file and returns the bytes to store (the capped original and its thumbnail) or raises
one of the ``PhotoRejected`` errors, which the API maps to its status codes:

- ``ImageFileTooLarge``    → 413 (over ``MAX_FILE_BYTES``; checked before anything is read)
- ``UnsupportedImage``     → 415 (not decodable as JPEG, PNG or WebP — the content decides,
                                  never the file name or the declared Content-Type)
- ``ImageTooManyPixels``   → 400 (over ``MAX_PIXELS``; judged from the header, before a single
                                  pixel is decoded, so a 50,000 x 50,000 PNG in a few hundred
                                  bytes allocates nothing)

What is stored:

- orientation applied (EXIF Orientation), then **every** piece of metadata dropped: EXIF
  (GPS included), XMP, comments, PNG text chunks. Only the ICC colour profile is kept, and only
  when the colour space is unchanged, so that wide-gamut phone photos keep their colours.
- re-encoded in the format it arrived in: JPEG quality 85 (progressive), PNG optimised,
  WebP quality 85. Animated PNG/WebP keep their first frame only.
- the original at most ``MAX_SIDE`` px on its long side; the thumbnail fits within
  ``THUMBNAIL_BOX`` and has the same format as the original (so transparency survives).

Memory: full-size pixels exist only between decoding and the first shrink. JPEGs are decoded
at a reduced DCT scale when that still gives ``MAX_SIDE`` px; orientation is applied in place.
Every process on the machine (the task's gunicorn workers) takes turns to decode (``DecodeTurns``),
and a decode whose estimated peak is over the memory budget is refused before it starts
(``ImageTooManyPixels``, naming the most this format may have): the web task's 512 MiB holds the
master, two workers and one decode, never two.
"""

import contextlib
import fcntl
import io
import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from activelog.errors import ContentTooLarge, DependencyUnavailable, DomainError, UnsupportedContent

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
THUMBNAIL_BOX = (300, 300)
JPEG_QUALITY = 85
WEBP_QUALITY = 85
# Decoding at full size is where the memory goes: a 40-megapixel PNG needs ~240 MB, a WebP
# ~640 MB (libwebp keeps two RGBA canvases). The web task (512 MiB) holds the master and two
# workers (280 MiB after three rounds of bench/load.py), so one decode at a time in the whole
# task, and none estimated over the caller's budget (settings.PHOTO_DECODE_MEMORY_MB, 192 MiB by
# default: a 12-megapixel WebP, a 33-megapixel PNG, any JPEG up to MAX_PIXELS).
# The turns: an exclusive lock on this file, which every process of this user on the machine
# opens (the kernel releases it when its holder exits, killed or not; the user id in the name
# keeps another account's file, which this one could not open, out of the way). A request waits
# this long for its turn (below gunicorn's 30 s timeout), then is answered 503 with Retry-After.
DECODE_LOCK_PATH = os.path.join(tempfile.gettempdir(), f"activelog-photo-decode-{os.getuid()}.lock")
DECODE_WAIT_SECONDS = 20.0

logger = logging.getLogger(__name__)

# Pillow format -> (content type, file extension)
ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


class PhotoRejected(DomainError):
    """An uploaded file that cannot become a photo; ``str(exc)`` is a message for the user."""


class ImageFileTooLarge(PhotoRejected, ContentTooLarge):
    pass


class UnsupportedImage(PhotoRejected, UnsupportedContent):
    pass


class ImageTooManyPixels(PhotoRejected):
    pass


@dataclass(frozen=True)
class ProcessedImage:
    format: str  # Pillow's name: JPEG, PNG, WEBP
    content_type: str
    extension: str
    width: int
    height: int
    data: bytes  # the stored original
    thumbnail: bytes

    @property
    def file_size(self) -> int:
        return len(self.data)


class DecoderBusy(DependencyUnavailable):
    """Other photos took the decoder for longer than a request can wait."""

    default_message = "Photos are being processed for other requests right now. Try again in a few seconds."

    def __init__(self, message: str | None = None):
        super().__init__(message, retry_after=5)


class DecodeTurns:
    """One decode at a time among all the processes (and threads) that use the same ``path``:
    ``turn()`` holds an exclusive flock on it, waiting at most ``wait_seconds``, else DecoderBusy."""

    POLL_SECONDS = 0.02

    def __init__(self, path: str, wait_seconds: float):
        self.path = path
        self.wait_seconds = wait_seconds

    @contextlib.contextmanager
    def turn(self):
        # Its own open file description each time: flock then also orders threads of one process.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.wait_seconds
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise DecoderBusy() from None
                    time.sleep(self.POLL_SECONDS)
            yield
        finally:
            os.close(fd)  # releases the lock


_DECODE_TURNS = DecodeTurns(DECODE_LOCK_PATH, DECODE_WAIT_SECONDS)


def decode_cost(fmt: str, mode: str, size: tuple[int, int]) -> int:
    """Rough peak bytes of decoding, orienting and shrinking an image of this header."""
    pixels = size[0] * size[1]
    if fmt == "WEBP":
        return pixels * 4 * 4  # two libwebp RGBA canvases, the frame copy, Pillow's image
    bytes_per_pixel = 1 if mode in {"1", "L", "P"} else 4  # Pillow keeps RGB in 4 bytes too
    if mode not in {"L", "RGB", "RGBA"}:
        bytes_per_pixel += 4  # converted at full size (palette, CMYK, 16-bit, ...)
    return int(pixels * bytes_per_pixel * 1.5)  # the image and the reduce/resize intermediates


def check_file_size(size: int, *, label: str = "") -> None:
    """The one size rule of a photo file (the API also stops reading an upload at this limit)."""
    if size > MAX_FILE_BYTES:
        prefix = f"{label}: " if label else ""
        raise ImageFileTooLarge(f"{prefix}The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")


def _size_of(source: BinaryIO) -> int:
    position = source.tell()
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(position)
    return size


def _check_decode_memory(fmt: str, mode: str, size: tuple[int, int], full_size: tuple[int, int], budget: int) -> None:
    if decode_cost(fmt, mode, size) <= budget:
        return
    per_megapixel = decode_cost(fmt, mode, (1000, 1000))
    scale = (full_size[0] * full_size[1]) / max(1, size[0] * size[1])  # a JPEG decoded at a reduced scale
    most = budget / per_megapixel * scale
    raise ImageTooManyPixels(
        f"The image is too large to process: {full_size[0]} x {full_size[1]} pixels "
        f"({full_size[0] * full_size[1] / 1e6:.1f} megapixels); a {fmt} image like this one may have at most "
        f"{math.floor(most * 10) / 10:g} megapixels here."
    )


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageTooManyPixels(
            f"The image is {width} x {height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels."
        )


def _draft_size(width: int, height: int) -> tuple[int, int]:
    """The smallest size a JPEG may be decoded at and still give a MAX_SIDE result."""
    ratio = min(1.0, MAX_SIDE / max(width, height))
    return max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))


def _colour_family(mode: str) -> str:
    if mode == "CMYK":
        return "cmyk"
    if mode in {"1", "L", "LA", "La", "F"} or mode.startswith("I"):
        return "grey"
    return "rgb"


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "RGBa", "LA", "La", "PA"} or "transparency" in image.info


def _to_output_mode(image: Image.Image, fmt: str) -> Image.Image:
    """A mode the output format stores faithfully and browsers display."""
    if image.mode.startswith("I"):  # 16/32-bit greyscale: scale down to 8 bits, do not clip
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if fmt == "JPEG":
        return image if image.mode in {"L", "RGB"} else image.convert("RGB")
    if _has_alpha(image):
        return image if image.mode == "RGBA" else image.convert("RGBA")
    if fmt == "PNG" and image.mode in {"L", "RGB"}:
        return image
    if fmt == "PNG" and image.mode == "1":
        return image.convert("L")
    return image if image.mode == "RGB" else image.convert("RGB")


def _without_metadata(image: Image.Image) -> Image.Image:
    """The same pixels in a brand-new image: no info dict, no EXIF/XMP/comments to leak."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def _encode(image: Image.Image, fmt: str, icc_profile: bytes | None) -> bytes:
    options: dict = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if fmt == "JPEG":
        options.update(quality=JPEG_QUALITY, optimize=True, progressive=True)
    elif fmt == "PNG":
        options.update(optimize=True)
    elif fmt == "WEBP":
        options.update(quality=WEBP_QUALITY, method=4)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def process_image(source: BinaryIO, *, memory_budget: int, size: int | None = None) -> ProcessedImage:
    """Validate and transform one uploaded image; raise a ``PhotoRejected`` error if it cannot be one
    (or ``DecoderBusy`` if its turn to decode does not come in time).

    ``size`` is the upload's byte count when the caller already knows it (Django's
    ``UploadedFile.size``); it is checked before any byte is read. ``memory_budget`` is the most
    (estimated) memory one decode may take.
    """
    size = _size_of(source) if size is None else size
    check_file_size(size)
    source.seek(0)
    unsupported = UnsupportedImage("The file is not a JPEG, PNG or WebP image (or it is damaged).")
    try:
        # Image.open reads the header only. Restricting the formats means nothing else is even
        # tried (no GIF, TIFF, SVG, PSD, ... decoders run on user input).
        with Image.open(source, formats=tuple(ACCEPTED_FORMATS)) as opened:
            _check_pixels(*opened.size)  # before a single pixel is decoded
            fmt = opened.format
            if fmt not in ACCEPTED_FORMATS:  # pragma: no cover - formats= already guarantees it
                raise unsupported
            icc_profile = opened.info.get("icc_profile")
            source_family = _colour_family(opened.mode)
            full_size = opened.size
            if fmt == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that is still big enough.
                opened.draft(None, _draft_size(*opened.size))
            _check_decode_memory(fmt, opened.mode, opened.size, full_size, memory_budget)
            with _DECODE_TURNS.turn():
                opened.load()
                try:
                    ImageOps.exif_transpose(opened, in_place=True)  # in place: no full-size copy
                except Exception:  # unreadable EXIF does not make the pixels unusable: keep them as sent
                    logger.info("Ignoring unreadable EXIF orientation", exc_info=True)
                image = _to_output_mode(opened, fmt)  # the same object unless a conversion is needed
                image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)  # in place
                image = _without_metadata(image)  # at most MAX_SIDE x MAX_SIDE from here on
    except Image.DecompressionBombError:
        # Pillow's own guard fires inside Image.open for sizes far above MAX_PIXELS.
        raise ImageTooManyPixels(
            f"The image has too many pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels."
        ) from None
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            KeyError, ZeroDivisionError) as exc:
        # Pillow reports broken or foreign content with any of these.
        raise unsupported from exc

    if _colour_family(image.mode) != source_family:
        icc_profile = None  # a CMYK or grey profile does not describe RGB pixels

    thumbnail = image.copy()
    thumbnail.thumbnail(THUMBNAIL_BOX, Image.Resampling.LANCZOS)
    content_type, extension = ACCEPTED_FORMATS[fmt]
    return ProcessedImage(
        format=fmt,
        content_type=content_type,
        extension=extension,
        width=image.width,
        height=image.height,
        data=_encode(image, fmt, icc_profile),
        thumbnail=_encode(thumbnail, fmt, icc_profile),
    )
