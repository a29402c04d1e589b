"""Stored files (photos and their thumbnails, report exports) leave with their rows.

One mechanism for every way a row goes — a photo deleted through the API or the admin, an
activity deleted for good, an account deleted (the rows go by CASCADE), expired reports swept —
``post_delete`` receivers that remove the stored objects once the deletion has committed (never
before: a rolled-back deletion keeps its files). Registered by ``ActivitiesConfig.ready``.
"""

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from activities.models import ExportJob, Photo

logger = logging.getLogger(__name__)

StoredFile = tuple[Any, str]  # (storage, name)


def stored_files(*field_files) -> list[StoredFile]:
    return [(f.storage, f.name) for f in field_files if f and f.name]


def stored_files_delete(files: Iterable[StoredFile]) -> None:
    """Best effort, now: a file that cannot be removed is logged with its name for a later sweep
    (a leftover file must never undo or fail the deletion that already happened)."""
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception:
            logger.exception("Could not delete stored file %s", name)


def stored_files_delete_on_commit(files: list[StoredFile]) -> None:
    if files:
        transaction.on_commit(lambda: stored_files_delete(files))


@receiver(post_delete, sender=Photo, dispatch_uid="activities.files.photo_deleted")
def _photo_deleted(sender, instance: Photo, **kwargs) -> None:
    stored_files_delete_on_commit(stored_files(instance.image, instance.thumbnail))


@receiver(post_delete, sender=ExportJob, dispatch_uid="activities.files.export_deleted")
def _export_deleted(sender, instance: ExportJob, **kwargs) -> None:
    stored_files_delete_on_commit(stored_files(instance.file))
