"""Stored files (photos and their thumbnails, report exports) leave with their rows; none is orphaned.

One mechanism for every way a row goes — a photo deleted through the API or the admin, an
activity deleted for good, an account deleted (the rows go by CASCADE), expired reports swept —
``post_delete`` receivers that, inside the deleting transaction, record every stored object of
the row (``StoredFileDeletion``) and, once that transaction has committed, delete the objects and
then their records. So a committed deletion always leaves either no object or a record of it; a
rolled-back deletion rolls its records back too and keeps its files. Registered by
``ActivitiesConfig.ready``.

When the storage cannot delete an object (S3 down or hung), its record stays, with the attempts
and the last error, and the sweep (``stored_file_deletions_sweep``: the Celery beat task
``activities.tasks.sweep_stored_files``, ``manage.py sweep_stored_files`` and the daily
``manage.py cleanup_exports``) retries it. Deleting an object that is already gone succeeds on S3
and on the local disk, so an object deleted twice (the sweep racing a commit) does no harm.

A storage that is down is not asked once per object: after a failure that shows the storage
itself is unreachable (a connection error, a timeout, an S3 5xx), deletions in this process pause
for ``PAUSE_SECONDS`` — records are kept without trying — so deleting an account with hundreds of
objects during an outage costs its request one failed call, not hundreds. The sweep always tries
(that is how it finds out the storage is back) and stops at the first such failure.
"""

import logging
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import Storage, default_storage, storages
from django.db import DatabaseError, transaction
from django.db.models import F
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from activelog.redaction import safe_error
from activities.models import ExportJob, Photo, StoredFileDeletion

logger = logging.getLogger(__name__)

StoredFile = tuple[Any, str]  # (storage, name)

PAUSE_SECONDS = 60
SWEEP_BATCH = 200
_paused_until: "weakref.WeakKeyDictionary[Storage, float]" = weakref.WeakKeyDictionary()
_pause_lock = threading.Lock()


def stored_files(*field_files) -> list[StoredFile]:
    return [(f.storage, f.name) for f in field_files if f and f.name]


# --- which storage, and whether it is reachable ----------------------------------------------------


def _alias_of(storage) -> str:
    """The settings.STORAGES alias a record names (a record outlives the storage object)."""
    if storage is default_storage:
        return "default"
    for alias in settings.STORAGES:
        if storages[alias] is storage:
            return alias
    raise ValueError(f"{storage!r} is not configured in settings.STORAGES; its files could not be swept")


def _backend(storage) -> Storage:
    """The storage object itself (``default_storage`` is a lazy proxy of ``storages["default"]``)."""
    return storages["default"] if storage is default_storage else storage


def storage_unreachable(exc: BaseException) -> bool:
    """Whether a failure is the storage's as a whole (down, hung, overloaded), not one object's."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or exc.response.get("Error", {}).get("Code") in {"SlowDown", "RequestTimeout"}
    return isinstance(exc, BotoCoreError)  # connection refused or reset, timeouts, credentials


def stored_files_pause(storage) -> None:
    """Keep deletions from trying this storage for a while (they are recorded for the sweep)."""
    with _pause_lock:
        _paused_until[_backend(storage)] = time.monotonic() + PAUSE_SECONDS


def stored_files_resume() -> None:
    with _pause_lock:
        _paused_until.clear()


def _paused(storage: Storage) -> bool:
    with _pause_lock:
        return _paused_until.get(storage, 0.0) > time.monotonic()


# --- recording and deleting ------------------------------------------------------------------------


def _record(files: Iterable[StoredFile]) -> list[StoredFileDeletion]:
    return StoredFileDeletion.objects.bulk_create(
        StoredFileDeletion(storage=_alias_of(storage), name=name) for storage, name in files
    )


def stored_file_deletions_run(*, deletions: Sequence[StoredFileDeletion], sweep: bool = False) -> dict:
    """Delete the objects of these records, then the records of those that went.

    A failed object keeps its record (attempts + 1, the error). After a failure showing the
    storage is unreachable the rest of the batch is left untried, and outside the sweep the
    storage is paused. Returns ``{"deleted": n, "failed": n, "untried": n, "unreachable": bool}``.
    """
    deleted: list[int] = []
    failed = untried = 0
    unreachable: set[str] = set()
    for deletion in deletions:
        if deletion.storage in unreachable:
            untried += 1
            continue
        try:
            storage = storages[deletion.storage]
            if not sweep and _paused(storage):
                untried += 1
                continue
            storage.delete(deletion.name)
        except Exception as exc:
            failed += 1
            error = safe_error(exc)
            logger.warning("Could not delete stored file %s (kept for the sweep): %s", deletion.name, error)
            StoredFileDeletion.objects.filter(pk=deletion.pk).update(
                attempts=F("attempts") + 1, last_error=error[:500], last_attempt_at=timezone.now()
            )
            if storage_unreachable(exc):
                unreachable.add(deletion.storage)
                if not sweep:
                    stored_files_pause(storage)
            continue
        deleted.append(deletion.pk)
    if deleted:
        StoredFileDeletion.objects.filter(pk__in=deleted).delete()
    return {"deleted": len(deleted), "failed": failed, "untried": untried, "unreachable": bool(unreachable)}


def stored_files_delete_later(files: list[StoredFile]) -> None:
    """In the caller's transaction: record the objects; once it has committed, delete them."""
    if not files:
        return
    deletions = _record(files)
    # robust: a storage or database failure after the commit never turns the deletion into an error.
    transaction.on_commit(lambda: stored_file_deletions_run(deletions=deletions), robust=True)


def stored_files_delete(files: list[StoredFile]) -> None:
    """Delete objects no row refers to (an upload being undone), now. They are recorded first, so
    what cannot be deleted now is swept later; if even the record cannot be written (the failure
    being undone may be the database's), they are deleted directly and a failure is logged."""
    if not files:
        return
    try:
        deletions = _record(files)
    except DatabaseError:
        for storage, name in files:
            try:
                storage.delete(name)
            except Exception as exc:
                logger.error("Could not delete stored file %s, nor record it for the sweep: %s", name, safe_error(exc))
        return
    stored_file_deletions_run(deletions=deletions)


def stored_file_deletions_sweep(*, max_seconds: float | None = None) -> dict:
    """Retry every recorded deletion, oldest first, until one shows the storage is still down (or
    ``max_seconds`` have passed). Returns ``{"deleted": n, "failed": n, "left": n}``."""
    started = time.monotonic()
    deleted = failed = 0
    after = 0
    while max_seconds is None or time.monotonic() - started < max_seconds:
        batch = list(StoredFileDeletion.objects.filter(pk__gt=after).order_by("pk")[:SWEEP_BATCH])
        if not batch:
            break
        result = stored_file_deletions_run(deletions=batch, sweep=True)
        deleted += result["deleted"]
        failed += result["failed"]
        if result["unreachable"]:  # still down: one failed call is enough, the next sweep tries again
            break
        after = batch[-1].pk
    if deleted:
        stored_files_resume()
    left = StoredFileDeletion.objects.count()
    if deleted or failed or left:
        logger.info("Stored-file sweep: %s deleted, %s failed, %s still pending", deleted, failed, left)
    return {"deleted": deleted, "failed": failed, "left": left}


# --- the receivers ---------------------------------------------------------------------------------


@receiver(post_delete, sender=Photo, dispatch_uid="activities.files.photo_deleted")
def _photo_deleted(sender, instance: Photo, **kwargs) -> None:
    stored_files_delete_later(stored_files(instance.image, instance.thumbnail))


@receiver(post_delete, sender=ExportJob, dispatch_uid="activities.files.export_deleted")
def _export_deleted(sender, instance: ExportJob, **kwargs) -> None:
    stored_files_delete_later(stored_files(instance.file))
