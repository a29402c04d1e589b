"""Test images built with Pillow (and, for the bombs, by hand: a PNG header is just bytes)."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
}


def exif(*, orientation: int | None = None, gps: bool = False, camera: str | None = "ActiveCam 9") -> Image.Exif:
    data = Image.Exif()
    if camera:
        data[ExifTags.Base.Make] = camera
    if orientation:
        data[ExifTags.Base.Orientation] = orientation
    if gps:
        data[ExifTags.IFD.GPSInfo] = dict(GPS)
    return data


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), *, mode: str = "RGB",
                exif_data: Image.Exif | None = None, **save_options) -> bytes:
    """A picture with some structure (a gradient, a red left half) so orientation is visible."""
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert(mode)
    if mode in {"RGB", "RGBA"}:
        image.paste((255, 0, 0) if mode == "RGB" else (255, 0, 0, 128), (0, 0, max(1, width // 2), height))
    if exif_data is not None:
        save_options["exif"] = exif_data
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_options)
    return buffer.getvalue()


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg(size=(64, 48), **kwargs) -> SimpleUploadedFile:
    return upload(image_bytes("JPEG", size, **kwargs), "photo.jpg", "image/jpeg")


def png(size=(64, 48), **kwargs) -> SimpleUploadedFile:
    return upload(image_bytes("PNG", size, **kwargs), "photo.png", "image/png")


def webp(size=(64, 48), **kwargs) -> SimpleUploadedFile:
    return upload(image_bytes("WEBP", size, **kwargs), "photo.webp", "image/webp")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (1-bit greyscale) and whose
    data holds only the first few rows: decoding it for real would need gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    pixels = zlib.compress(row * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def stored_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
