"""Every read of activities and tags: always scoped to the owner."""

from collections.abc import Mapping

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet

from accounts.models import User
from activelog import read_ahead
from activelog.db import CompiledQuery, correlated_array, correlated_count
from activelog.errors import NotFound
from activelog.observability import span
from activities.filters import ActivityFilter
from activities.models import Activity, Photo, Tag


def activities_alive(*, user: User) -> QuerySet[Activity]:
    """The user's activities that are not (soft-)deleted: what every list, statistic and export
    starts from."""
    return Activity.objects.filter(user=user).alive()


def activities_restorable(*, user: User) -> QuerySet[Activity]:
    """Soft-deleted activities of the user that can still be restored."""
    return Activity.objects.filter(user=user).restorable()


def activity_filter(*, user: User, filters: Mapping | None = None) -> QuerySet[Activity]:
    """The user's activities narrowed by the list's query parameters (``activities.filters``);
    ``include_deleted=true`` lists the restorable ones instead of the live ones. Unreadable
    parameters are a ``ValidationError`` keyed by parameter name."""
    filterset = ActivityFilter(filters or {}, queryset=Activity.objects.none(), user=user)
    if not filterset.is_valid():
        raise ValidationError(filterset.form.errors.as_data())
    include_deleted = filterset.form.cleaned_data.get("include_deleted")
    base = activities_restorable(user=user) if include_deleted else activities_alive(user=user)
    return filterset.filter_queryset(base)


def _with_display_fields(queryset: QuerySet[Activity]) -> QuerySet[Activity]:
    """What the activity representation needs (``Activity.tag_names``, ``photo_count``), in one
    statement on PostgreSQL and two elsewhere, for any page size."""
    photos = Photo.objects.filter(activity=OuterRef("pk"))
    queryset = queryset.annotate(photo_count=correlated_count(photos, group_by="activity"))
    names = correlated_array(Tag.objects.filter(activities=OuterRef("pk")), field="name")
    if names is not None:
        return queryset.annotate(tag_name_list=names)
    return queryset.prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))


def _newest_first(user: User) -> QuerySet[Activity]:
    return _with_display_fields(activities_alive(user=user)).order_by("-activity_date", "-id")


# Compiled once per process (activelog.db.CompiledQuery) from stand-in ids no row has: the user's
# live activities newest first, and one of them.
_STAND_IN_USER, _STAND_IN_ACTIVITY = -7_101_301, -7_101_302
_ACTIVITY_PAGES = CompiledQuery(lambda user_id: _newest_first(User(pk=user_id)), user_id=_STAND_IN_USER)
_ACTIVITY_GET = CompiledQuery(
    lambda user_id, activity_id: _newest_first(User(pk=user_id)).filter(pk=activity_id),
    user_id=_STAND_IN_USER, activity_id=_STAND_IN_ACTIVITY,
)


def activity_count_key(user_id) -> str:
    """The cache key of the user's live-activity total, nameable before the user row is read (the
    API reads it with the user: ActivityListCreateView.cache_keys_read_ahead)."""
    return f"activities:live-count:{user_id}"


def activity_count(*, user: User) -> int:
    """How many live activities the user has. Cached with the user's statistics version, which
    every write that adds, removes or restores an activity bumps in its transaction (as for the
    statistics, activities/statistics/cache.py): a total counted under another version is counted
    again, never served, and there is no COUNT(*) over a long history (20-30 ms at 100,000
    activities) on every page of the list."""
    key = activity_count_key(user.pk)
    kept = read_ahead.get(key)  # a cache outage is a miss
    if isinstance(kept, tuple) and kept[0] == user.stats_version:
        return kept[1]
    count = activities_alive(user=user).count()
    cache.set(key, (user.stats_version, count), settings.STATS_CACHE_SECONDS)
    return count


def is_plain_page(filters: Mapping | None) -> bool:
    """No filter named: a page of all live activities, whose total comes from activity_count."""
    return filters is None or not any(name in filters for name in ActivityFilter.base_filters)


def activity_list(*, user: User, filters: Mapping | None = None) -> QuerySet[Activity]:
    """The user's live activities, newest first, narrowed by ``filters`` when given."""
    if is_plain_page(filters):
        # No filter named (a plain page of the list): the same rows and order without building and
        # validating the filter form, a fifth of the list's cost (bench/profile_endpoint.py); the
        # total from the cache, the pages with SQL compiled once per process (_ACTIVITY_PAGES), and
        # the queryset itself built only if something asks for more than the total and a page.
        return Activity.objects.all().paged(
            build=lambda: _newest_first(user),
            count=lambda: activity_count(user=user),
            fetch=lambda *, offset, limit: _ACTIVITY_PAGES.run(user_id=user.pk, offset=offset, limit=limit),
        )
    return _with_display_fields(activity_filter(user=user, filters=filters))


def activity_list_deleted(*, user: User) -> QuerySet[Activity]:
    """Soft-deleted activities that can still be restored (the restore UI's list)."""
    return _with_display_fields(activities_restorable(user=user)).order_by("-deleted_at", "-id")


def activity_key(user_id, activity_id) -> str:
    """Where one activity, as last read for its reader, is kept (activity_get's ``kept``):
    nameable before the user row is read, so the API reads it with the user
    (ActivityDetailView.cache_keys_read_ahead)."""
    return f"activities:one:{user_id}:{activity_id}"


def activity_get(*, user: User, activity_id: int, kept: bool = False) -> Activity:
    """One live activity of the user; another user's activity is indistinguishable from none.

    With ``kept``, the activity as last read for this user is served when it was read under the
    user's current ``stats_version`` (which every write to the user's activities, their tags and
    photos bumps in its transaction, activities.services.stats_version_bump) by the same compiled
    query: as with the statistics and the list's total, an entry read under another version is
    read again, never served, so nothing is served after a change and nothing needs deleting.
    The API's one-activity answer reads it with the user, in the same Redis round trip; what
    changes data (an update, a delete) always reads the row itself."""
    with span("activity.get", activity__id=activity_id, user__id=user.pk) as current:
        key = read_with = None
        if kept:
            key, read_with = activity_key(user.pk, activity_id), (user.stats_version, _ACTIVITY_GET.digest)
            entry = read_ahead.get(key)  # a cache outage is a miss
            hit = isinstance(entry, tuple) and len(entry) == 2 and entry[0] == read_with
            current.set_attribute("cache.hit", hit)
            if hit:
                current.set_attribute("activity.type", entry[1].activity_type)
                return entry[1]
        found = _ACTIVITY_GET.run(user_id=user.pk, activity_id=activity_id, limit=1)
        if not found:
            raise NotFound("No activity with this id.")
        activity = found[0]
        current.set_attribute("activity.type", activity.activity_type)
        if kept:
            cache.set(key, (read_with, activity), settings.STATS_CACHE_SECONDS)
    return activity


def tag_usage_list(*, user: User) -> QuerySet[Tag]:
    """The user's tags with how many live activities use each, most used first."""
    return (
        Tag.objects.filter(user=user)
        .annotate(count=Count("activities", filter=Q(activities__deleted_at__isnull=True)))
        .order_by("-count", "name")
    )


def activity_types_used(*, user: User, limit: int = 50) -> list[str]:
    """The types the user has logged, most used first (suggestions in the activity form)."""
    rows = (
        activities_alive(user=user).order_by().values("activity_type")
        .annotate(n=Count("id")).order_by("-n", "activity_type")[:limit]
    )
    return [row["activity_type"] for row in rows]
