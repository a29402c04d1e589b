"""Statistics endpoints (API.md §4): thin views over the statistics selectors, cached per user."""

from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from activelog.api.schema import ETAG_HEADER, IF_NONE_MATCH_HEADER, X_CACHE_HEADER
from activelog.timezones import local_today
from activities.serializers import RangeQuerySerializer
from activities.statistics import selectors as statistics
from activities.statistics import serializers as s
from activities.statistics.cache import cached_stats, stats_cache_key, stats_etag, stats_slot_key

# Valid queries, remembered per process. A query serializer builds and deep-copies its fields on
# every request: 12% of the CPU of a cached answer (issue 17), although a query that was valid
# gives the same parameters again for the same time zone and local day (the bounds depend on
# "today", and an instant in the past stays in the past). Only valid queries are kept, so an
# invalid one is refused the same way every time. At most MAX_REMEMBERED_QUERIES (forgotten all at
# once when full), none longer than MAX_REMEMBERED_QUERY characters.
MAX_REMEMBERED_QUERIES = 1024
MAX_REMEMBERED_QUERY = 512
_valid_queries: dict[tuple, dict] = {}


class StatsView(APIView):
    """Validates the query, serves from the per-user cache, and says whether it was a hit."""

    endpoint: str
    query_serializer = None

    def compute(self, user, params: dict) -> dict:
        raise NotImplementedError

    def validated_query(self, request) -> dict:
        """The query's parameters, validated by ``query_serializer`` (a 400 when invalid)."""
        if self.query_serializer is None:
            return {}
        user, query, key = request.user, request.query_params, None
        if len(request.META.get("QUERY_STRING", "")) <= MAX_REMEMBERED_QUERY:
            sent = tuple(sorted((name, tuple(values)) for name, values in query.lists()))
            key = (self.query_serializer, sent, user.timezone, local_today(user.tzinfo))
            kept = _valid_queries.get(key)
            if kept is not None:
                return dict(kept)
        serializer = self.query_serializer(data=query, context={"user": user})
        serializer.is_valid(raise_exception=True)
        params = dict(serializer.validated_data)
        if key is not None:
            if len(_valid_queries) >= MAX_REMEMBERED_QUERIES:
                _valid_queries.clear()
            _valid_queries[key] = dict(params)
        return params

    def cache_keys_read_ahead(self, request, user_id) -> list[str]:
        """Read with the signed-in user in one Redis round trip (activelog/read_ahead.py): the
        cached answer to this query."""
        if request.method != "GET":
            return []
        return [stats_slot_key(user_id=user_id, endpoint=self.endpoint, query=request.query_params)]

    def get(self, request):
        params = self.validated_query(request)
        key_params = {k: str(v) for k, v in params.items()}
        key = stats_cache_key(user=request.user, endpoint=self.endpoint, params=key_params)
        etag = stats_etag(key)
        # Per user, and to be checked again on every use: a write changes the answer at once.
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if _matches(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        body, hit = cached_stats(
            user=request.user,
            endpoint=self.endpoint,
            params=key_params,
            compute=lambda: self.compute(request.user, params),
            key=key,
            query=request.query_params,
        )
        return Response(body, headers={**headers, "X-Cache": "HIT" if hit else "MISS"})


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: "*" or any listed tag, compared weakly (a W/ prefix is ignored)."""
    if not if_none_match:
        return False
    tags = [tag.removeprefix("W/") for tag in parse_etags(if_none_match)]
    return "*" in tags or etag in tags


def _doc(response_serializer, summary: str, query=None):
    return extend_schema(
        tags=["statistics"],
        summary=summary,
        parameters=[*([query] if query else []), X_CACHE_HEADER, ETAG_HEADER, IF_NONE_MATCH_HEADER],
        responses={200: response_serializer,
                   304: OpenApiResponse(description="Not modified: the If-None-Match tag is the current answer's.")},
    )


class RangeStatsView(StatsView):
    endpoint = "range"
    query_serializer = RangeQuerySerializer

    @_doc(s.RangeStatsSerializer, "Totals for a range of local days (default: the last 30 days)",
          RangeQuerySerializer)
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.stats_for_range(user=user, start=params["start"], end=params["end"])


class WeeklyStatsView(StatsView):
    endpoint = "weekly"

    @_doc(s.PeriodStatsSerializer, "The last 7 days, today included")
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.stats_last_days(user=user, days=7, with_types=False)


class MonthlyStatsView(StatsView):
    endpoint = "monthly"

    @_doc(s.MonthlyStatsSerializer, "The last 30 days, today included, with a per-type count")
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.stats_last_days(user=user, days=30, with_types=True)


class ByTypeStatsView(StatsView):
    endpoint = "by-type"

    @_doc(s.ByTypeSerializer, "All-time count per activity type")
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.stats_by_type(user=user)


class SummaryView(StatsView):
    endpoint = "summary"

    @_doc(s.SummarySerializer, "All-time totals, activity level and streaks")
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.summary(user=user)


class TopTagsView(StatsView):
    endpoint = "top-tags"
    query_serializer = s.TopTagsQuerySerializer

    @_doc(s.TopTagsSerializer, "Most used tags", s.TopTagsQuerySerializer)
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.top_tags(user=user, limit=params["limit"])


class StreaksView(StatsView):
    endpoint = "streaks"

    @_doc(s.StreaksSerializer, "Current and longest streak of consecutive local days with activity")
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.streak_summary(user=user)


class RecordsView(StatsView):
    endpoint = "records"

    @_doc(s.RecordsSerializer, "Personal records per activity type")
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.personal_records(user=user)


class MonthlyTrendsView(StatsView):
    endpoint = "trends-monthly"
    query_serializer = s.TrendsQuerySerializer

    @_doc(s.TrendsSerializer, "Calendar-month totals, oldest first, with change against the previous month",
          s.TrendsQuerySerializer)
    def get(self, request):
        return super().get(request)

    def compute(self, user, params):
        return statistics.monthly_trends(
            user=user, months=params["months"], activity_type=params.get("activity_type") or None
        )
