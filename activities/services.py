"""Every write to activities and tags goes through here."""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from activelog import metrics
from activelog.observability import span
from activities.models import Activity, ExportJob, Photo, Tag
from activities.stats_cache import stats_version_bump

logger = logging.getLogger(__name__)

ACTIVITY_FIELDS = (
    "activity_type",
    "title",
    "description",
    "duration_minutes",
    "distance_km",
    "calories_burned",
    "notes",
    "activity_date",
)


def normalize_tag_names(names: Iterable[str]) -> list[str]:
    """Trimmed, lower-cased, de-duplicated, in first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        cleaned = name.strip().lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def tags_get_or_create(*, user: User, names: Iterable[str]) -> list[Tag]:
    names = normalize_tag_names(names)
    if not names:
        return []
    Tag.objects.bulk_create([Tag(user=user, name=name) for name in names], ignore_conflicts=True)
    return list(Tag.objects.filter(user=user, name__in=names))


def _set_fields(activity: Activity, data: dict) -> list[str]:
    changed = []
    for field in ACTIVITY_FIELDS:
        if field in data:
            value = data[field]
            if field == "activity_type":
                value = value.strip().lower()
            setattr(activity, field, value)
            changed.append(field)
    return changed


def activity_create(*, user: User, data: dict) -> Activity:
    with span("activity.create", user__id=user.pk) as current, transaction.atomic():
        activity = Activity(user=user)
        _set_fields(activity, data)
        activity.full_clean(exclude=["user", "tags"], validate_constraints=False)  # the DB enforces them
        activity.save()
        if data.get("tags"):
            activity.tags.set(tags_get_or_create(user=user, names=data["tags"]))
        stats_version_bump(user_id=user.pk)
        current.set_attribute("activity.id", activity.pk)
        current.set_attribute("activity.type", activity.activity_type)
        label = metrics.activity_type_label(activity.activity_type)
        transaction.on_commit(lambda: metrics.ACTIVITIES_CREATED.labels(activity_type=label).inc())
    return activity


def activity_update(*, activity: Activity, data: dict) -> Activity:
    """Partial or full update; ``tags``, when given, replaces the whole set."""
    with span("activity.update", activity__id=activity.pk, user__id=activity.user_id), transaction.atomic():
        changed = _set_fields(activity, data)
        activity.full_clean(exclude=["user", "tags"], validate_constraints=False)  # the DB enforces them
        if changed:
            activity.save(update_fields=[*changed, "updated_at"])
        if "tags" in data:
            activity.tags.set(tags_get_or_create(user=activity.user, names=data["tags"] or []))
            if not changed:
                activity.save(update_fields=["updated_at"])
        stats_version_bump(user_id=activity.user_id)
    return activity


@transaction.atomic
def activity_soft_delete(*, activity: Activity) -> None:
    with span("activity.delete", activity__id=activity.pk, user__id=activity.user_id):
        now = timezone.now()
        if Activity.objects.filter(pk=activity.pk, deleted_at__isnull=True).update(deleted_at=now, updated_at=now):
            stats_version_bump(user_id=activity.user_id)


@transaction.atomic
def activity_restore(*, user: User, activity_id: int) -> Activity:
    """Undo a soft delete made within the restore window; otherwise it is not found."""
    with span("activity.restore", activity__id=activity_id, user__id=user.pk):
        activity = Activity.objects.select_for_update().filter(user=user, pk=activity_id).restorable().first()
        if activity is None:
            raise Http404("No deleted activity with this id can be restored.")
        activity.deleted_at = None
        activity.save(update_fields=["deleted_at", "updated_at"])
        stats_version_bump(user_id=user.pk)
    return activity


@transaction.atomic
def activity_batch_soft_delete(*, user: User, ids: Iterable[int]) -> tuple[int, list[int]]:
    """Soft-delete the user's live activities among ``ids``; return (deleted, ids not found)."""
    wanted = list(dict.fromkeys(ids))
    found = set(
        Activity.objects.select_for_update()
        .filter(user=user, pk__in=wanted)
        .alive()
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    if found:
        Activity.objects.filter(pk__in=found).update(deleted_at=now, updated_at=now)
        stats_version_bump(user_id=user.pk)
    return len(found), [pk for pk in wanted if pk not in found]


def stored_files_of_users(*, user_ids) -> list[tuple]:
    """(storage, name) of every stored file of these users (photos and report exports), collected
    before a deletion: the rows go with the user (CASCADE), the stored files do not."""
    photos = Photo.objects.filter(activity__user__in=user_ids).only("image", "thumbnail")
    exports = ExportJob.objects.filter(user__in=user_ids).exclude(file="").only("file")
    files = [f for photo in photos for f in (photo.image, photo.thumbnail)] + [job.file for job in exports]
    return [(f.storage, f.name) for f in files if f.name]


def stored_files_delete_on_commit(files: list[tuple]) -> None:
    """Remove stored files once the surrounding deletion has committed (never before: a rolled
    back deletion must keep its files)."""

    def delete() -> None:
        for storage, name in files:
            try:
                storage.delete(name)
            except Exception:  # a leftover file must not undo or fail a committed deletion
                logger.exception("Could not delete stored file %s", name)

    if files:
        transaction.on_commit(delete)
