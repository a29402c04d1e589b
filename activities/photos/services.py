"""Photo writes.

``photo_attach`` is all or nothing (API.md §5):

1. the request-level rules (1-5 files, at most 20 photos per activity) are checked;
2. **every** file is processed in memory (``activities.photos``) — one bad file rejects the
   whole request before anything is stored;
3. the originals and thumbnails are uploaded; if storage fails, whatever this call already
   uploaded is removed and ``DependencyUnavailable`` is raised (the API answers 503). Every S3
   call has a deadline (activelog/s3.py); a storage that timed out is hung, so what has to be
   removed is recorded for the sweep instead of waiting for a second timeout
   (``activities.files``);
4. the rows are inserted in one *durable* transaction (so "committed" really means committed)
   with the activity row locked, which makes the per-activity limit hold under concurrent
   uploads; if anything fails here, the uploaded objects are removed before the error goes on.

Uploading happens outside any transaction on purpose: a database connection is never held open
while bytes travel to S3.
"""

import logging
import uuid
from collections.abc import Sequence

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from activelog import metrics
from activelog.errors import DependencyUnavailable, NotFound
from activelog.observability import span
from activities.files import StoredFile, stored_files_delete, stored_files_pause
from activities.models import Activity, Photo
from activities.photos.images import (
    ImageTooManyPixels,
    PhotoRejected,
    ProcessedImage,
    check_file_size,
    process_image,
)
from activities.services import stats_version_bump

logger = logging.getLogger(__name__)

MAX_FILES_PER_REQUEST = 5
MAX_PHOTOS_PER_ACTIVITY = 20

# What a failing media storage raises: the local disk (OSError) or S3 through boto3/botocore.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, BotoCoreError, ClientError, Boto3Error)

STORAGE_RETRY_AFTER = 30


def _label(index: int, total: int, upload: UploadedFile) -> str:
    name = (upload.name or "").rsplit("/", 1)[-1][:80]
    return f"File {index + 1} of {total}" + (f' ("{name}")' if name else "")


def _check_room(*, activity: Activity, adding: int) -> None:
    existing = Photo.objects.filter(activity=activity).count()
    if existing + adding > MAX_PHOTOS_PER_ACTIVITY:
        raise ValidationError({
            "photos": [
                f"An activity can have at most {MAX_PHOTOS_PER_ACTIVITY} photos; this one has {existing} "
                f"and the request adds {adding}."
            ]
        })


def _process_all(files: Sequence[UploadedFile]) -> list[ProcessedImage]:
    """Every file, or an error naming the first bad one. Sizes first: they cost nothing to check."""
    total = len(files)
    for index, upload in enumerate(files):
        check_file_size(upload.size, label=_label(index, total, upload))
    processed = []
    for index, upload in enumerate(files):
        try:
            upload.seek(0)
            processed.append(process_image(upload, size=upload.size,
                                           memory_budget=settings.PHOTO_DECODE_MEMORY_MB * 1024 * 1024))
        except ImageTooManyPixels as exc:
            raise ValidationError({"photos": [f"{_label(index, total, upload)}: {exc}"]}) from None
        except PhotoRejected as exc:
            raise type(exc)(f"{_label(index, total, upload)}: {exc}") from None
    return processed


def _upload(*, activity: Activity, image: ProcessedImage, stored: list[StoredFile]) -> Photo:
    """Store one processed image and its thumbnail; every name is appended to ``stored`` before
    it is written, so the caller can undo a half-finished request, including a write that timed
    out here but still completes in S3 afterwards."""
    photo = Photo(
        activity=activity,
        content_type=image.content_type,
        file_size=image.file_size,
        width=image.width,
        height=image.height,
    )
    stem = uuid.uuid4().hex
    for field, data, name in (
        (photo.image, image.data, f"{stem}.{image.extension}"),
        (photo.thumbnail, image.thumbnail, f"{stem}_thumb.{image.extension}"),
    ):
        content = ContentFile(data)
        content.content_type = image.content_type  # the S3 object's Content-Type
        key = field.field.generate_filename(photo, name)  # photo_upload_to -> users/…/photos/<name>
        stored.append((field.storage, key))
        field.save(name, content, save=False)
        if field.name != key:  # the storage chose another name (never for a fresh uuid, but then it is ours too)
            stored.append((field.storage, field.name))
    return photo


def photo_attach(*, activity: Activity, files: Sequence[UploadedFile]) -> list[Photo]:
    """Attach 1-5 uploaded images to a live activity of the caller, all or nothing.

    Returns the created photos in the order of ``files`` (the hook point for upload metrics).
    Raises ``ValidationError`` (count, per-activity limit, too many pixels),
    ``ImageFileTooLarge`` / ``UnsupportedImage`` (``ContentTooLarge`` / ``UnsupportedContent``),
    ``DependencyUnavailable`` (storage) and ``NotFound`` if the activity went away meanwhile.
    Call it outside any transaction (the insert is a durable atomic block): objects are only
    worth keeping once their rows have really committed.
    """
    if not files:
        raise ValidationError({"photos": [f"Attach 1 to {MAX_FILES_PER_REQUEST} image files in the photos field."]})
    if len(files) > MAX_FILES_PER_REQUEST:
        raise ValidationError({
            "photos": [f"At most {MAX_FILES_PER_REQUEST} files per request (this one has {len(files)})."]
        })
    _check_room(activity=activity, adding=len(files))  # early answer; re-checked under the lock

    with span("photo.process", activity__id=activity.pk, user__id=activity.user_id, photo__count=len(files)):
        processed = _process_all(files)

    stored: list[StoredFile] = []
    try:
        try:
            photos = [_upload(activity=activity, image=image, stored=stored) for image in processed]
        except STORAGE_ERRORS as exc:
            logger.warning("Photo upload for activity %s failed in the media storage: %r", activity.pk, exc)
            if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
                stored_files_pause(Photo._meta.get_field("image").storage)
            raise DependencyUnavailable(
                "The photo storage is unavailable. Try again shortly.", retry_after=STORAGE_RETRY_AFTER
            ) from exc

        with transaction.atomic(durable=True):
            locked = (
                Activity.objects.select_for_update()
                .filter(pk=activity.pk, user_id=activity.user_id)
                .alive()
                .only("id")
                .first()
            )
            if locked is None:
                raise NotFound("No activity with this id.")
            _check_room(activity=locked, adding=len(photos))
            Photo.objects.bulk_create(photos)
            stats_version_bump(user_ids=[activity.user_id])  # the activity's photo count changed
    except BaseException:
        stored_files_delete(stored)
        raise
    metrics.PHOTOS_UPLOADED.inc(len(photos))
    return photos


def photo_delete(*, photo: Photo) -> None:
    """Delete the row now; its stored objects go once that has committed, or are swept later if
    the storage cannot delete them then (``activities.files``)."""
    with transaction.atomic():
        owner = Activity.objects.filter(pk=photo.activity_id).values_list("user_id", flat=True).first()
        photo.delete()
        stats_version_bump(user_ids=[owner])  # the activity's photo count changed
