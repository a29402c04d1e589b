"""Every write to activities and tags goes through here.

The rules are enforced here, not only by the interfaces: every value passes ``activities.rules``
(normalisation) and the model's ``full_clean`` (the rules' validators), so the API, the admin,
the batch endpoint, the seed command and a shell all refuse the same things.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import User
from activelog import metrics
from activelog.db import model_update
from activelog.errors import NotFound
from activelog.observability import span
from activities import rules
from activities.models import Activity, Tag

logger = logging.getLogger(__name__)

ACTIVITY_FIELDS = Activity.EDITABLE_FIELDS
MAX_BATCH = 50


def stats_version_bump(*, user_ids: Iterable[int | None]) -> None:
    """Call inside every write transaction that changes a user's activities, their tags or their
    photos: what the statistics, the list's total and one activity are read from. Readers after
    the commit see the new version (it is part of those cache entries' keys), so a cached answer
    never outlives its data."""
    ids = sorted({user_id for user_id in user_ids if user_id is not None})  # one lock order
    for user_id in ids:
        User.objects.filter(pk=user_id).update(stats_version=F("stats_version") + 1)


def tags_get_or_create(*, user: User, names: Iterable[str]) -> list[Tag]:
    names = rules.clean_tag_names(names, limit=None)
    if not names:
        return []
    Tag.objects.bulk_create([Tag(user=user, name=name) for name in names], ignore_conflicts=True)
    return list(Tag.objects.filter(user=user, name__in=names))


def _normalized(data: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "activity_type" in data:
        data["activity_type"] = rules.normalize_activity_type(data["activity_type"])
    if data.get("tags") is not None:
        data["tags"] = rules.clean_tag_names(data["tags"])
    return data


def activity_create(*, user: User, data: Mapping[str, Any]) -> Activity:
    data = _normalized(data)
    with span("activity.create", user__id=user.pk) as current, transaction.atomic():
        activity = Activity(user=user)
        for name in ACTIVITY_FIELDS:
            if name in data:
                setattr(activity, name, data[name])
        activity.full_clean(exclude=["user", "tags"], validate_constraints=False)  # the DB enforces them
        activity.save()
        if data.get("tags"):
            activity.tags.set(tags_get_or_create(user=user, names=data["tags"]))
        stats_version_bump(user_ids=[user.pk])
        current.set_attribute("activity.id", activity.pk)
        current.set_attribute("activity.type", activity.activity_type)
        label = metrics.activity_type_label(activity.activity_type)
        transaction.on_commit(lambda: metrics.ACTIVITIES_CREATED.labels(activity_type=label).inc())
    return activity


def activity_update(*, activity: Activity, data: Mapping[str, Any]) -> Activity:
    """Partial or full update; ``tags``, when given, replaces the whole set."""
    data = _normalized(data)
    with span("activity.update", activity__id=activity.pk, user__id=activity.user_id), transaction.atomic():
        changed = model_update(instance=activity, fields=ACTIVITY_FIELDS, data=data)
        if "tags" in data:
            activity.tags.set(tags_get_or_create(user=activity.user, names=data["tags"] or []))
            if not changed:
                activity.save(update_fields=["updated_at"])
        stats_version_bump(user_ids=[activity.user_id])
    return activity


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    activity: Activity | None = None
    error: ValidationError | None = None


def activity_batch_create(
    *, user: User, items: Sequence[Mapping[str, Any] | ValidationError]
) -> list[BatchItemResult]:
    """Create up to ``MAX_BATCH`` activities, each in a transaction of its own: a failing item
    never undoes the valid ones. An item may already be a ``ValidationError`` (the interface
    could not read it); it is reported at its index like any other refusal."""
    if len(items) > MAX_BATCH:
        raise ValidationError({"activities": [f"At most {MAX_BATCH} activities per batch."]})
    results = []
    for index, item in enumerate(items):
        if isinstance(item, ValidationError):
            results.append(BatchItemResult(index=index, error=item))
            continue
        try:
            activity = activity_create(user=user, data=item)
        except ValidationError as exc:
            results.append(BatchItemResult(index=index, error=exc))
        except IntegrityError:
            error = ValidationError("Could not be saved: it breaks a data rule.")
            results.append(BatchItemResult(index=index, error=error))
        else:
            results.append(BatchItemResult(index=index, activity=activity))
    return results


def activities_soft_delete(*, activities: QuerySet[Activity]) -> int:
    """Soft-delete the live ones among ``activities`` (any owners); returns how many."""
    with transaction.atomic():
        now = timezone.now()
        targets = Activity.objects.select_for_update().filter(pk__in=activities.order_by().values("pk")).alive()
        rows = list(targets.values_list("pk", "user_id"))
        if rows:
            Activity.objects.filter(pk__in=[pk for pk, _ in rows]).update(deleted_at=now, updated_at=now)
            stats_version_bump(user_ids=[user_id for _, user_id in rows])
    return len(rows)


def activity_soft_delete(*, activity: Activity) -> None:
    with span("activity.delete", activity__id=activity.pk, user__id=activity.user_id):
        activities_soft_delete(activities=Activity.objects.filter(pk=activity.pk))


def activity_batch_soft_delete(*, user: User, ids: Iterable[int]) -> tuple[int, list[int]]:
    """Soft-delete the user's live activities among ``ids``; return (deleted, ids not found)."""
    wanted = list(dict.fromkeys(ids))
    with transaction.atomic():
        found = set(
            Activity.objects.select_for_update().filter(user=user, pk__in=wanted).alive().values_list("pk", flat=True)
        )
        activities_soft_delete(activities=Activity.objects.filter(pk__in=found))
    return len(found), [pk for pk in wanted if pk not in found]


def activities_restore(*, activities: QuerySet[Activity]) -> int:
    """Undo the soft delete of the deleted ones among ``activities`` (any owners, any age: the
    admin's action); returns how many."""
    with transaction.atomic():
        targets = Activity.objects.select_for_update().filter(
            pk__in=activities.order_by().values("pk"), deleted_at__isnull=False
        )
        rows = list(targets.values_list("pk", "user_id"))
        if rows:
            Activity.objects.filter(pk__in=[pk for pk, _ in rows]).update(deleted_at=None, updated_at=timezone.now())
            stats_version_bump(user_ids=[user_id for _, user_id in rows])
    return len(rows)


def activity_restore(*, user: User, activity_id: int) -> Activity:
    """Undo a soft delete made within the restore window; otherwise it is not found."""
    with span("activity.restore", activity__id=activity_id, user__id=user.pk), transaction.atomic():
        restorable = Activity.objects.filter(user=user, pk=activity_id).restorable()
        if not activities_restore(activities=restorable):
            raise NotFound("No deleted activity with this id can be restored.")
    return Activity.objects.get(pk=activity_id)


def activities_delete(*, activities: QuerySet[Activity]) -> int:
    """Delete for good (the admin's delete): rows, tags links and photos go; the photos' stored
    objects are removed once the deletion has committed (``activities.files``)."""
    with transaction.atomic():
        owners = set(activities.order_by().values_list("user_id", flat=True).distinct())
        deleted, _ = Activity.objects.filter(pk__in=activities.order_by().values("pk")).delete()
        stats_version_bump(user_ids=owners)
    return deleted


def tag_save(*, tag: Tag) -> Tag:
    """Create or rename a tag (the admin's form); names are normalised like the API's."""
    with transaction.atomic():
        tag.name = rules.normalize_tag_name(tag.name)
        tag.full_clean(exclude=["user"], validate_constraints=False)
        tag.save()
        stats_version_bump(user_ids=[tag.user_id])
    return tag


def tags_delete(*, tags: QuerySet[Tag]) -> int:
    with transaction.atomic():
        owners = set(tags.order_by().values_list("user_id", flat=True).distinct())
        deleted, _ = Tag.objects.filter(pk__in=tags.order_by().values("pk")).delete()
        stats_version_bump(user_ids=owners)
    return deleted
