"""Photos (API.md §5): the upload pipeline on local disk and on S3 (moto server), links, limits,
decompression bombs, metadata stripping, all-or-nothing failures and deletion."""

import resource
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import time_machine
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.middleware.csrf import _get_new_csrf_string
from django.test.utils import CaptureQueriesContext
from PIL import ExifTags
from rest_framework.test import APIClient

from activelog.s3 import s3_storage
from activities.models import Activity, Photo
from activities.photos.services import MAX_PHOTOS_PER_ACTIVITY
from tests.support import images
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory
from tests.support.images import image_bytes, jpeg, png, stored_image, upload, webp
from tests.support.servers import closed_port

PROBLEM = "application/problem+json"
PROBLEMS = "https://activelog.dev/problems/"
BUILDERS = {"JPEG": jpeg, "PNG": png, "WEBP": webp}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def photos_url(activity_id: int, photo_id: int | None = None) -> str:
    url = f"/api/v1/activities/{activity_id}/photos"
    return url if photo_id is None else f"{url}/{photo_id}"


def post_photos(client, activity_id: int, *files):
    return client.post(photos_url(activity_id), {"photos": list(files)}, format="multipart")


def assert_problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == PROBLEMS + kind
    assert body["status"] == status
    return body


# --- where the media lives: the local disk or a private S3 bucket on the moto server -------------


class LocalMedia:
    kind = "local"

    def __init__(self, root: str):
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        with default_storage.open(name, "rb") as f:
            return f.read()

    def fetch(self, url: str, client) -> tuple[int, bytes, str]:
        response = client.get(url)  # the test client closes the response (do not close it again)
        body = b"".join(response.streaming_content) if response.status_code == 200 else b""
        return response.status_code, body, response.get("Content-Type", "")


class S3Media:
    kind = "s3"

    def __init__(self, client):
        self.client = client
        self.bucket = client.bucket

    def names(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()

    def head(self, name: str) -> dict:
        return self.client.head_object(Bucket=self.bucket, Key=name)

    def fetch(self, url: str, client=None) -> tuple[int, bytes, str]:
        assert url.startswith("http://127.0.0.1:"), url  # a presigned link to the moto server
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            return exc.code, b"", ""


@pytest.fixture(params=["local", "s3"])
def media(request, settings):
    if request.param == "local":
        return LocalMedia(settings.MEDIA_ROOT)
    return S3Media(request.getfixturevalue("s3_media"))


@pytest.fixture
def activity(user):
    return ActivityFactory(user=user)


def stored_photo_names() -> list[str]:
    return sorted(name for photo in Photo.objects.all() for name in (photo.image.name, photo.thumbnail.name))


def make_photo_rows(activity, count: int) -> None:
    """Rows only (no stored objects): enough to fill an activity up to its limit."""
    Photo.objects.bulk_create(
        Photo(activity=activity, image=f"users/x/p{i}.jpg", thumbnail=f"users/x/p{i}_thumb.jpg",
              content_type="image/jpeg", file_size=1, width=1, height=1)
        for i in range(count)
    )


# --- upload: the happy path on both storages ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_upload_stores_image_and_thumbnail_and_links_work(fmt, media, auth_client, user, activity):
    response = post_photos(auth_client, activity.pk, BUILDERS[fmt](size=(640, 480)))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["uploaded_count"] == 1
    (photo,) = body["photos"]
    assert set(photo) == {"id", "activity_id", "url", "thumbnail_url", "content_type", "file_size", "width",
                          "height", "uploaded_at"}
    assert photo["activity_id"] == activity.pk
    assert photo["content_type"] == CONTENT_TYPES[fmt]
    assert (photo["width"], photo["height"]) == (640, 480)
    assert photo["uploaded_at"].endswith("Z")

    row = Photo.objects.get(pk=photo["id"])
    prefix = f"users/{user.pk}/activities/{activity.pk}/photos/"
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    assert row.image.name.startswith(prefix) and row.image.name.endswith(f".{extension}")
    assert row.thumbnail.name == row.image.name.removesuffix(f".{extension}") + f"_thumb.{extension}"
    assert len(Path(row.image.name).stem) == 32  # a random uuid, nothing of the client's file name
    assert media.names() == sorted([row.image.name, row.thumbnail.name])

    stored = media.read(row.image.name)
    assert photo["file_size"] == len(stored)
    assert stored_image(stored).format == fmt

    status, content, content_type = media.fetch(photo["url"], auth_client)
    assert status == 200
    assert content == stored
    assert content_type == CONTENT_TYPES[fmt]
    status, thumb, _ = media.fetch(photo["thumbnail_url"], auth_client)
    assert status == 200
    thumbnail = stored_image(thumb)
    assert thumbnail.format == fmt
    assert thumbnail.size == (300, 225)

    if media.kind == "s3":
        head = media.head(row.image.name)
        assert head["ContentType"] == CONTENT_TYPES[fmt]
        assert "X-Amz-Signature=" in photo["url"] and "X-Amz-Expires=3600" in photo["url"]


def test_upload_of_several_files_and_photo_count(auth_client, activity):
    response = post_photos(auth_client, activity.pk, jpeg(), png(), webp())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["uploaded_count"] == 3
    assert [p["content_type"] for p in body["photos"]] == ["image/jpeg", "image/png", "image/webp"]
    assert Photo.objects.filter(activity=activity).count() == 3
    assert auth_client.get(f"/api/v1/activities/{activity.pk}").json()["photo_count"] == 3
    assert auth_client.get("/api/v1/activities").json()["results"][0]["photo_count"] == 3


def test_format_is_judged_by_content_not_name_or_content_type(auth_client, activity):
    disguised = upload(image_bytes("PNG"), name="holiday.jpg", content_type="image/jpeg")

    response = post_photos(auth_client, activity.pk, disguised)

    assert response.status_code == 201, response.content
    assert response.json()["photos"][0]["content_type"] == "image/png"
    assert Photo.objects.get().image.name.endswith(".png")


# --- local links expire and cannot be forged -----------------------------------------------------


def test_local_link_expires_and_rejects_a_tampered_signature(auth_client, activity):
    photo = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]
    anonymous = APIClient()

    assert anonymous.get(photo["url"]).status_code == 200  # the link itself is the credential

    tampered = photo["url"].replace("signature=", "signature=x")
    assert anonymous.get(tampered).status_code == 404
    other_file = photo["url"].replace(".jpg?", "_thumb.jpg?")
    assert anonymous.get(other_file).status_code == 404

    with time_machine.travel(time.time() + 3600 + 5, tick=False):
        assert anonymous.get(photo["url"]).status_code == 404


# --- what is stored: metadata, orientation, size ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_with_gps_is_stripped(fmt, media, auth_client, activity):
    source = image_bytes(fmt, (80, 60), exif_data=images.exif(gps=True))
    assert stored_image(source).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really has GPS

    response = post_photos(auth_client, activity.pk, upload(source, f"gps.{fmt.lower()}", "image/jpeg"))

    assert response.status_code == 201, response.content
    row = Photo.objects.get()
    for name in (row.image.name, row.thumbnail.name):
        data = media.read(name)
        image = stored_image(data)
        assert dict(image.getexif()) == {}
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "exif" not in image.info and "xmp" not in image.info
        assert b"ActiveCam" not in data  # the camera model was in the EXIF too
        assert b"Exif\x00\x00" not in data


def test_jpeg_comments_and_xmp_are_stripped(media, auth_client, activity):
    source = image_bytes("JPEG", (80, 60), comment=b"secret-comment",
                         xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">exif:GPSLatitude 52,31</x:xmpmeta>')
    assert "xmp" in stored_image(source).info

    assert post_photos(auth_client, activity.pk, upload(source)).status_code == 201

    data = media.read(Photo.objects.get().image.name)
    assert b"secret-comment" not in data and b"xmpmeta" not in data and b"GPSLatitude" not in data
    assert not {"comment", "xmp", "exif"} & set(stored_image(data).info)


def test_exif_orientation_is_applied(media, auth_client, activity):
    # Stored sideways (64 wide, red left half) with "rotate 90° clockwise to display" (6).
    source = image_bytes("JPEG", (64, 48), exif_data=images.exif(orientation=6))

    photo = post_photos(auth_client, activity.pk, upload(source)).json()["photos"][0]

    assert (photo["width"], photo["height"]) == (48, 64)
    stored = stored_image(media.read(Photo.objects.get().image.name))
    assert stored.size == (48, 64)
    assert ExifTags.Base.Orientation not in stored.getexif()
    red, green, blue = stored.convert("RGB").getpixel((24, 8))  # the red half is on top now
    assert red > 200 and green < 60 and blue < 60
    red, _, _ = stored.convert("RGB").getpixel((24, 56))
    assert red < 200


def test_corrupt_exif_does_not_reject_the_image(media, auth_client, activity):
    source = image_bytes("JPEG", (64, 48), exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x01" * 30)

    response = post_photos(auth_client, activity.pk, upload(source))

    assert response.status_code == 201, response.content
    assert b"Exif" not in media.read(Photo.objects.get().image.name)


def test_large_image_is_capped_at_2048_and_thumbnail_fits_300(media, auth_client, activity):
    photo = post_photos(auth_client, activity.pk, jpeg(size=(3000, 1000))).json()["photos"][0]

    assert (photo["width"], photo["height"]) == (2048, 683)
    row = Photo.objects.get()
    assert stored_image(media.read(row.image.name)).size == (2048, 683)
    thumbnail = stored_image(media.read(row.thumbnail.name))
    assert thumbnail.size == (300, 100)


def test_tall_png_is_capped_on_its_long_side(auth_client, activity):
    photo = post_photos(auth_client, activity.pk, png(size=(900, 2600))).json()["photos"][0]

    assert photo["height"] == 2048 and photo["width"] <= 2048
    thumbnail = stored_image(default_storage.open(Photo.objects.get().thumbnail.name).read())
    assert thumbnail.height == 300 and thumbnail.width <= 300


def test_small_image_is_not_enlarged(auth_client, activity):
    photo = post_photos(auth_client, activity.pk, png(size=(120, 80))).json()["photos"][0]

    assert (photo["width"], photo["height"]) == (120, 80)
    thumbnail = stored_image(default_storage.open(Photo.objects.get().thumbnail.name).read())
    assert thumbnail.size == (120, 80)


def test_transparency_survives_in_png_and_its_thumbnail(auth_client, activity):
    response = post_photos(auth_client, activity.pk, png(mode="RGBA"))

    assert response.status_code == 201, response.content
    row = Photo.objects.get()
    for name in (row.image.name, row.thumbnail.name):
        assert stored_image(default_storage.open(name).read()).mode == "RGBA"


# --- refused uploads -------------------------------------------------------------------------------


def assert_nothing_stored(media=None):
    assert Photo.objects.count() == 0
    if media is not None:
        assert media.names() == []


def test_text_file_named_jpg_is_415(media, auth_client, activity):
    fake = upload(b"just some text, honestly\n" * 20, "photo.jpg", "image/jpeg")

    response = post_photos(auth_client, activity.pk, fake)

    body = assert_problem(response, 415, "unsupported-media-type")
    assert "photo.jpg" in body["detail"] and "JPEG, PNG or WebP" in body["detail"]
    assert_nothing_stored(media)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_415(fmt, auth_client, activity):
    response = post_photos(auth_client, activity.pk, upload(image_bytes(fmt), f"x.{fmt.lower()}", "image/jpeg"))

    assert_problem(response, 415, "unsupported-media-type")
    assert_nothing_stored()


def test_truncated_jpeg_is_415(auth_client, activity):
    broken = upload(image_bytes("JPEG", (400, 300))[:600])

    assert_problem(post_photos(auth_client, activity.pk, broken), 415, "unsupported-media-type")


def test_one_bad_file_rejects_the_whole_request(media, auth_client, activity):
    response = post_photos(auth_client, activity.pk, jpeg(), png(), upload(b"%PDF-1.7 not an image", "c.png"))

    body = assert_problem(response, 415, "unsupported-media-type")
    assert body["detail"].startswith('File 3 of 3 ("c.png")')
    assert_nothing_stored(media)


def test_file_over_10_mb_is_413(media, auth_client, activity):
    big = upload(b"\xff\xd8\xff\xe0" + b"\x00" * (12 * 1024 * 1024), "big.jpg")

    response = post_photos(auth_client, activity.pk, jpeg(), big)

    body = assert_problem(response, 413, "payload-too-large")
    assert "10 MB" in body["detail"]
    assert_nothing_stored(media)


def test_413_is_decided_while_the_body_arrives(auth_client, activity, monkeypatch):
    """The oversized file is not spooled to disk: the upload handler stops the parse."""
    from django.core.files import uploadhandler

    opened = []
    original = uploadhandler.TemporaryFileUploadHandler.new_file

    def spy(self, *args, **kwargs):
        opened.append(args[1])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(uploadhandler.TemporaryFileUploadHandler, "new_file", spy)
    big = upload(b"\x00" * (11 * 1024 * 1024), "big.jpg")

    response = post_photos(auth_client, activity.pk, big)

    assert_problem(response, 413, "payload-too-large")
    assert opened == ["big.jpg"]  # it started, and was abandoned at 10 MB


def test_exactly_10_mb_is_not_413(auth_client, activity):
    # Valid image bytes padded to exactly 10 MB (JPEG decoders ignore data after EOI).
    data = image_bytes("JPEG")
    padded = upload(data + b"\x00" * (10 * 1024 * 1024 - len(data)))

    assert post_photos(auth_client, activity.pk, padded).status_code == 201


def test_six_files_are_400(media, auth_client, activity):
    response = post_photos(auth_client, activity.pk, *[jpeg() for _ in range(6)])

    body = assert_problem(response, 400, "validation-error")
    assert "5 files" in body["errors"]["photos"][0]
    assert_nothing_stored(media)


def test_five_files_are_fine(auth_client, activity):
    response = post_photos(auth_client, activity.pk, *[jpeg() for _ in range(5)])

    assert response.status_code == 201, response.content
    assert response.json()["uploaded_count"] == 5


def test_no_file_is_400(auth_client, activity):
    response = auth_client.post(photos_url(activity.pk), {"title": "no photos here"}, format="multipart")

    body = assert_problem(response, 400, "validation-error")
    assert "photos" in body["errors"]


def test_file_under_another_field_name_does_not_count(auth_client, activity):
    response = auth_client.post(photos_url(activity.pk), {"photo": jpeg()}, format="multipart")

    assert "photos" in assert_problem(response, 400, "validation-error")["errors"]


def test_malformed_multipart_is_400(auth_client, activity):
    response = auth_client.generic("POST", photos_url(activity.pk), b"--x\r\nnot really multipart",
                                   content_type="multipart/form-data")  # no boundary

    assert_problem(response, 400, "validation-error")


def test_json_body_is_415(auth_client, activity):
    response = auth_client.post(photos_url(activity.pk), {"photos": ["aGVsbG8="]}, format="json")

    assert_problem(response, 415, "unsupported-media-type")


def test_21st_photo_is_400(media, auth_client, activity):
    make_photo_rows(activity, MAX_PHOTOS_PER_ACTIVITY)

    response = post_photos(auth_client, activity.pk, jpeg())

    body = assert_problem(response, 400, "validation-error")
    assert "at most 20 photos" in body["errors"]["photos"][0]
    assert Photo.objects.count() == MAX_PHOTOS_PER_ACTIVITY
    assert media.names() == []


def test_a_request_that_would_pass_20_photos_is_refused_whole(auth_client, activity):
    make_photo_rows(activity, 18)

    assert_problem(post_photos(auth_client, activity.pk, jpeg(), jpeg(), jpeg()), 400, "validation-error")
    assert post_photos(auth_client, activity.pk, jpeg(), jpeg()).status_code == 201
    assert Photo.objects.filter(activity=activity).count() == 20


def test_the_limit_is_per_activity(auth_client, user, activity):
    make_photo_rows(activity, MAX_PHOTOS_PER_ACTIVITY)

    assert post_photos(auth_client, ActivityFactory(user=user).pk, jpeg()).status_code == 201


@pytest.mark.parametrize(
    ("width", "height"),
    [(50_000, 50_000), (8_000, 8_000), (6_400, 6_400)],
    ids=["2500MP-beyond-pillow-limit", "64MP-under-pillow-limit", "41MP-just-over"],
)
def test_decompression_bomb_is_refused_without_decoding(width, height, media, auth_client, activity):
    bomb = images.png_declaring(width, height)
    assert len(bomb) < 2000  # "a tiny file"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    started = time.monotonic()
    response = post_photos(auth_client, activity.pk, upload(bomb, "bomb.png", "image/png"))
    elapsed = time.monotonic() - started

    body = assert_problem(response, 400, "validation-error")
    assert "40 megapixels" in body["errors"]["photos"][0]
    assert elapsed < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200 * 1024
    assert_nothing_stored(media)


def test_exactly_40_megapixels_is_accepted(auth_client, activity):
    # 8000 x 5000 = 40,000,000 pixels; a real (compressible) image so decoding really happens.
    response = post_photos(auth_client, activity.pk, png(size=(8000, 5000), mode="L"))

    assert response.status_code == 201, response.content
    assert (response.json()["photos"][0]["width"], response.json()["photos"][0]["height"]) == (2048, 1280)


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_cannot_pass_the_limit_together(settings, tmp_path, monkeypatch):
    """Both requests pass the early check (15 + 3 <= 20) and upload; the re-check under the
    activity's row lock lets exactly one of them in, and the loser's objects are removed."""
    from activities.photos import services as photo_services
    from tests.support.api import bearer_client
    from tests.support.factories import UserFactory

    owner = UserFactory()
    activity = ActivityFactory(user=owner)
    make_photo_rows(activity, 15)
    barrier = threading.Barrier(2)
    real_upload = photo_services._upload

    def upload_together(**kwargs):
        photo = real_upload(**kwargs)
        barrier.wait(timeout=10)  # both requests are past the early check and uploading
        return photo

    monkeypatch.setattr(photo_services, "_upload", upload_together)
    statuses = []

    def attempt():
        try:
            files = [jpeg(), jpeg(), jpeg()]
            statuses.append(post_photos(bearer_client(owner), activity.pk, *files).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [201, 400]
    assert Photo.objects.filter(activity=activity).count() == 18
    assert len(LocalMedia(settings.MEDIA_ROOT).names()) == 3 * 2


@pytest.mark.parametrize("budget_mb", [8, 64])
def test_a_decode_over_the_memory_budget_is_refused_before_it_starts(budget_mb, settings, media, auth_client,
                                                                     activity):
    """A WebP costs ~16 bytes a pixel to decode, a greyscale PNG 1.5: with 8 MiB one decode may take,
    a 1000 x 600 WebP (9.6 MB) is refused and the same PNG (0.9 MB) is not. With 64 MiB both pass."""
    settings.PHOTO_DECODE_MEMORY_MB = budget_mb

    refused = post_photos(auth_client, activity.pk, webp(size=(1000, 600)))
    accepted = post_photos(auth_client, activity.pk, png(size=(1000, 600), mode="L"))

    assert accepted.status_code == 201, accepted.content
    if budget_mb == 64:
        assert refused.status_code == 201, refused.content
        return
    body = assert_problem(refused, 400, "validation-error")
    assert body["errors"]["photos"] == [
        'File 1 of 1 ("photo.webp"): The image is too large to process: 1000 x 600 pixels (0.6 megapixels); '
        "a WEBP image like this one may have at most 0.5 megapixels here."
    ]
    assert Photo.objects.filter(activity=activity).count() == 1


def _hold_decode_turn(path, ready):
    from activities.photos.images import DecodeTurns

    with DecodeTurns(path, wait_seconds=1).turn():
        ready.set()
        time.sleep(60)  # until killed


def test_decodes_take_turns_across_processes_and_a_dead_holder_frees_its_turn(tmp_path):
    import multiprocessing
    import os
    import signal

    from activities.photos.images import DecoderBusy, DecodeTurns

    path = str(tmp_path / "decode.lock")
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    holder = context.Process(target=_hold_decode_turn, args=(path, ready))
    holder.start()
    try:
        assert ready.wait(10)
        started = time.monotonic()
        with pytest.raises(DecoderBusy) as busy, DecodeTurns(path, wait_seconds=0.3).turn():
            pass
        assert 0.3 <= time.monotonic() - started < 2
        assert busy.value.retry_after == 5

        os.kill(holder.pid, signal.SIGKILL)  # killed mid-decode: the kernel drops its lock
        holder.join(10)
        started = time.monotonic()
        with DecodeTurns(path, wait_seconds=2).turn():
            assert time.monotonic() - started < 0.5
    finally:
        if holder.is_alive():
            holder.kill()
        holder.join(10)


def test_threads_of_one_process_take_turns_too(tmp_path):
    from activities.photos.images import DecodeTurns

    turns = DecodeTurns(str(tmp_path / "decode.lock"), wait_seconds=10)
    inside, peak, lock = [0], [0], threading.Lock()

    def decode():
        with turns.turn():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=decode) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert not any(thread.is_alive() for thread in threads)
    assert peak[0] == 1


def test_a_busy_decoder_is_503_with_retry_after_and_nothing_stored(monkeypatch, media, auth_client, activity):
    from activities.photos import images as photo_images

    monkeypatch.setattr(photo_images._DECODE_TURNS, "wait_seconds", 0.2)
    with photo_images.DecodeTurns(photo_images.DECODE_LOCK_PATH, wait_seconds=1).turn():  # another request's
        response = post_photos(auth_client, activity.pk, jpeg())

    assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "5"
    assert Photo.objects.filter(activity=activity).count() == 0
    assert_nothing_stored(media)


# --- ownership and soft deletion ----------------------------------------------------------------


def test_another_users_activity_is_404(auth_client, other_client, activity):
    photo_id = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]["id"]

    assert_problem(post_photos(other_client, activity.pk, jpeg()), 404, "not-found")
    assert_problem(other_client.get(photos_url(activity.pk)), 404, "not-found")
    assert_problem(other_client.get(photos_url(activity.pk, photo_id)), 404, "not-found")
    assert_problem(other_client.delete(photos_url(activity.pk, photo_id)), 404, "not-found")
    assert Photo.objects.filter(pk=photo_id).exists()


def test_photo_of_another_activity_is_404(auth_client, user, activity):
    photo_id = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]["id"]
    second = ActivityFactory(user=user)

    assert_problem(auth_client.get(photos_url(second.pk, photo_id)), 404, "not-found")
    assert_problem(auth_client.delete(photos_url(second.pk, photo_id)), 404, "not-found")
    assert_problem(auth_client.get(photos_url(activity.pk, photo_id + 1000)), 404, "not-found")


def test_soft_deleted_activity_is_404_and_keeps_its_photos(auth_client, activity):
    photo_id = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]["id"]

    assert auth_client.delete(f"/api/v1/activities/{activity.pk}").status_code == 204

    assert_problem(post_photos(auth_client, activity.pk, jpeg()), 404, "not-found")
    assert_problem(auth_client.get(photos_url(activity.pk)), 404, "not-found")
    assert_problem(auth_client.get(photos_url(activity.pk, photo_id)), 404, "not-found")
    assert_problem(auth_client.delete(photos_url(activity.pk, photo_id)), 404, "not-found")
    assert Photo.objects.filter(pk=photo_id).exists()

    assert auth_client.post(f"/api/v1/activities/{activity.pk}/restore").status_code == 200
    assert auth_client.get(photos_url(activity.pk)).json()["total"] == 1


def test_unauthenticated_is_401(activity):
    response = APIClient().post(photos_url(activity.pk), {"photos": [jpeg()]}, format="multipart")

    assert_problem(response, 401, "not-authenticated")


def test_browser_session_upload_with_csrf(user, activity):
    """Session authentication reads the body for its CSRF check before the view runs: the
    upload limits must already be in place (a 12 MB file is still a 413) and a good upload works."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token

    assert client.post(photos_url(activity.pk), {"photos": [jpeg()]}, format="multipart").status_code == 403

    headers = {"HTTP_X_CSRFTOKEN": token}
    ok = client.post(photos_url(activity.pk), {"photos": [jpeg()]}, format="multipart", **headers)
    assert ok.status_code == 201, ok.content
    big = upload(b"\x00" * (12 * 1024 * 1024), "big.jpg")
    response = client.post(photos_url(activity.pk), {"photos": [big]}, format="multipart", **headers)
    assert_problem(response, 413, "payload-too-large")


# --- reading ------------------------------------------------------------------------------------------


def test_list_is_newest_first_with_total(media, auth_client, activity):
    first = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]
    second = post_photos(auth_client, activity.pk, png()).json()["photos"][0]

    response = auth_client.get(photos_url(activity.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [p["id"] for p in body["photos"]] == [second["id"], first["id"]]
    for photo in body["photos"]:
        assert media.fetch(photo["url"], auth_client)[0] == 200


def test_get_one_photo(auth_client, activity):
    created = post_photos(auth_client, activity.pk, webp()).json()["photos"][0]

    response = auth_client.get(photos_url(activity.pk, created["id"]))

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if not k.endswith("url")} == {
        k: v for k, v in created.items() if not k.endswith("url")
    }


def test_empty_list(auth_client, activity):
    assert auth_client.get(photos_url(activity.pk)).json() == {"photos": [], "total": 0}


def test_list_query_count_does_not_grow_with_photos(auth_client, user):
    def queries_for(count: int) -> int:
        activity = ActivityFactory(user=user)
        make_photo_rows(activity, count)
        with CaptureQueriesContext(connection) as ctx:
            response = auth_client.get(photos_url(activity.pk))
        assert response.json()["total"] == count
        return len(ctx.captured_queries)

    auth_client.get("/api/v1/users/me")  # the user is in the authentication cache from here on
    assert queries_for(1) == queries_for(MAX_PHOTOS_PER_ACTIVITY)


# --- deletion -------------------------------------------------------------------------------------


def test_delete_removes_row_and_stored_objects(media, auth_client, activity, django_capture_on_commit_callbacks):
    kept = post_photos(auth_client, activity.pk, png()).json()["photos"][0]
    gone = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]
    row = Photo.objects.get(pk=gone["id"])
    names = [row.image.name, row.thumbnail.name]

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(photos_url(activity.pk, gone["id"]))

    assert response.status_code == 204
    assert not Photo.objects.filter(pk=gone["id"]).exists()
    assert not set(names) & set(media.names())
    assert len(media.names()) == 2  # the other photo's image and thumbnail stay
    if media.kind == "s3":
        for name in names:
            with pytest.raises(ClientError) as excinfo:
                media.head(name)
            assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert media.fetch(gone["url"], auth_client)[0] in {403, 404}
    assert auth_client.get(photos_url(activity.pk)).json()["total"] == 1
    assert auth_client.get(photos_url(activity.pk, kept["id"])).status_code == 200
    assert_problem(auth_client.delete(photos_url(activity.pk, gone["id"])), 404, "not-found")


def test_delete_keeps_objects_when_the_transaction_does_not_commit(auth_client, activity,
                                                                   django_capture_on_commit_callbacks):
    """Objects go only after the row deletion commits (no commit in this test → they stay)."""
    photo = post_photos(auth_client, activity.pk, jpeg()).json()["photos"][0]
    names = stored_photo_names()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert auth_client.delete(photos_url(activity.pk, photo["id"])).status_code == 204

    assert len(callbacks) == 2  # the stored objects' deletion; the user cache's drop (the version bump)
    assert all(default_storage.exists(name) for name in names)


def test_account_deletion_removes_photo_objects(media, auth_client, activity, other_client, other_user,
                                                django_capture_on_commit_callbacks):
    assert post_photos(auth_client, activity.pk, jpeg(), png()).status_code == 201
    theirs = ActivityFactory(user=other_user)
    assert post_photos(other_client, theirs.pk, webp()).status_code == 201
    their_names = sorted(n for p in Photo.objects.filter(activity=theirs) for n in (p.image.name, p.thumbnail.name))
    assert len(media.names()) == 6

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/users/me", {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    assert media.names() == their_names
    assert not Activity.objects.filter(pk=activity.pk).exists()


def test_permanent_activity_deletion_removes_photo_objects(media, auth_client, user, activity,
                                                          django_capture_on_commit_callbacks):
    """Any hard delete of an activity (here the admin's service) takes its photos' stored objects
    along once it has committed: no call site has to remember it."""
    from activities.services import activities_delete

    assert post_photos(auth_client, activity.pk, jpeg(), png()).status_code == 201
    other = ActivityFactory(user=user)
    assert post_photos(auth_client, other.pk, webp()).status_code == 201
    kept = sorted(n for p in Photo.objects.filter(activity=other) for n in (p.image.name, p.thumbnail.name))

    with django_capture_on_commit_callbacks(execute=True):
        assert activities_delete(activities=Activity.objects.filter(pk=activity.pk)) > 0

    assert media.names() == kept
    assert Photo.objects.count() == 1


def test_a_rolled_back_deletion_keeps_the_stored_objects(media, auth_client, activity,
                                                        django_capture_on_commit_callbacks):
    from django.db import transaction

    assert post_photos(auth_client, activity.pk, jpeg()).status_code == 201
    stored = media.names()

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Abort), transaction.atomic():
        Activity.objects.filter(pk=activity.pk).delete()
        raise Abort

    assert callbacks == []
    assert media.names() == stored
    assert Photo.objects.filter(activity=activity).count() == 1


# --- all or nothing: storage and database failures --------------------------------------------------


def unreachable_s3(settings, bucket: str) -> None:
    """Point the media storage at a closed port; fail fast (short timeouts, no retries)."""
    storage = s3_storage(bucket=bucket, region="us-east-1", endpoint_url=f"http://127.0.0.1:{closed_port()}",
                         connect_timeout=0.5, read_timeout=1, max_attempts=1)
    settings.STORAGES = {**settings.STORAGES, "default": storage}


def test_storage_unavailable_is_503_and_no_photo_row(s3_media, settings, auth_client, activity):
    unreachable_s3(settings, s3_media.bucket)

    started = time.monotonic()
    response = post_photos(auth_client, activity.pk, jpeg(), png())

    body = assert_problem(response, 503, "service-unavailable")
    assert int(response["Retry-After"]) > 0
    assert "storage" in body["detail"]
    assert time.monotonic() - started < 10
    assert_nothing_stored(S3Media(s3_media))


def test_storage_failing_midway_removes_what_was_already_uploaded(s3_media, auth_client, activity, monkeypatch):
    """The first image and thumbnail reach the bucket; the next object fails. Injected at the
    storage backend's boundary (the real bucket keeps the objects that did get through)."""
    from storages.backends.s3 import S3Storage

    real_save = S3Storage._save
    calls = []

    def flaky_save(self, name, content):
        calls.append(name)
        if len(calls) > 2:
            raise EndpointConnectionError(endpoint_url="http://s3.example")
        return real_save(self, name, content)

    monkeypatch.setattr(S3Storage, "_save", flaky_save)

    response = post_photos(auth_client, activity.pk, jpeg(), png())

    assert_problem(response, 503, "service-unavailable")
    assert len(calls) == 3
    assert_nothing_stored(S3Media(s3_media))


def test_storage_unavailable_on_local_disk_is_503(settings, auth_client, activity, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media directory should be")
    settings.MEDIA_ROOT = str(blocker)

    response = post_photos(auth_client, activity.pk, jpeg())

    assert_problem(response, 503, "service-unavailable")
    assert_nothing_stored()


def test_database_failure_after_upload_removes_uploaded_objects(media, auth_client, activity, monkeypatch):
    """The real database cannot fail on cue: the insert step is made to raise."""
    uploaded = []

    def failing_insert(*args, **kwargs):
        uploaded.extend(media.names())  # the objects really were in storage at this point
        raise DatabaseError("connection lost")

    monkeypatch.setattr(Photo.objects, "bulk_create", failing_insert)

    response = post_photos(auth_client, activity.pk, jpeg(), png())

    assert_problem(response, 500, "server-error")
    assert len(uploaded) == 4
    assert_nothing_stored(media)
    assert Activity.objects.filter(pk=activity.pk).exists()


# --- the schema ---------------------------------------------------------------------------------------


def test_schema_documents_the_multipart_upload(auth_client):
    import yaml

    schema = yaml.safe_load(auth_client.get("/api/schema").content)
    operation = schema["paths"]["/api/v1/activities/{activity_id}/photos"]["post"]
    body = operation["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    component = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    photos = schema["components"]["schemas"][component]["properties"]["photos"]
    assert photos["type"] == "array" and photos["items"]["format"] == "binary"
    assert {"201", "400", "404", "413", "415", "503"} <= set(operation["responses"])
    assert "40 megapixels" in operation["description"]
