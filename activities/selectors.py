"""Every read of activities and tags: always scoped to the owner."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import User
from activelog.db import correlated_count
from activelog.observability import span
from activities.models import Activity, Photo, Tag


def _with_display_fields(queryset: QuerySet[Activity]) -> QuerySet[Activity]:
    """What the activity representation needs, in a constant number of queries for any page size."""
    photos = Photo.objects.filter(activity=OuterRef("pk"))
    tags = Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name"))
    return queryset.annotate(photo_count=correlated_count(photos, group_by="activity")).prefetch_related(tags)


def activity_list(*, user: User) -> QuerySet[Activity]:
    """The user's live activities, newest first; filters narrow it further."""
    return _with_display_fields(Activity.objects.filter(user=user).alive()).order_by("-activity_date", "-id")


def activity_list_deleted(*, user: User) -> QuerySet[Activity]:
    """Soft-deleted activities that can still be restored (the restore UI's list)."""
    return _with_display_fields(Activity.objects.filter(user=user).restorable()).order_by("-deleted_at", "-id")


def activity_get(*, user: User, activity_id: int) -> Activity:
    """One live activity of the user; another user's activity is indistinguishable from none."""
    with span("activity.get", activity__id=activity_id, user__id=user.pk) as current:
        activity = activity_list(user=user).filter(pk=activity_id).first()
        if activity is None:
            raise Http404("No activity with this id.")
        current.set_attribute("activity.type", activity.activity_type)
    return activity


def tag_usage_list(*, user: User) -> QuerySet[Tag]:
    """The user's tags with how many live activities use each, most used first."""
    return (
        Tag.objects.filter(user=user)
        .annotate(count=Count("activities", filter=Q(activities__deleted_at__isnull=True)))
        .order_by("-count", "name")
    )
