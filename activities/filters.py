"""Query parameters of the activity list (and the CSV export): parsing and validation.

Every unparsable value is a form error keyed by the parameter's name, which the API turns into a
400 problem naming that parameter; so are text with control characters and dates outside the range
a query may name (activities.rules). An empty value (``?start_date=``, what a browser sends for an
empty form field) is the same as leaving the parameter out.

The filters narrow a queryset they are given; which activities they start from (live or
restorable) is decided by ``activities.selectors.activity_filter``.
"""

import datetime as dt
from decimal import Decimal

import django_filters as filters
from django import forms
from django.db.models import F, Q
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from activelog.timezones import local_day_start
from activities import rules
from activities.models import Activity

ORDERING_FIELDS = ("activity_date", "duration_minutes", "distance_km", "calories_burned", "created_at")


class MultiValueWidget(forms.Widget):
    """Repeated parameters and comma-separated values both count: ?tag=a&tag=b or ?type=run,ride."""

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None)
        raw_values = getlist(name) if getlist else ([data[name]] if name in data else [])
        return [part.strip() for raw in raw_values for part in str(raw).split(",") if part.strip()]


MAX_FILTER_VALUES = 50


class MultiValueField(forms.Field):
    """A list of values, each normalised by the rule of what it names (a type, a tag): one line of
    text no longer than such a name can be, at most ``MAX_FILTER_VALUES`` of them."""

    widget = MultiValueWidget

    def __init__(self, *, normalize, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.normalize = normalize
        self.max_length = max_length

    def to_python(self, value):
        values = value or []
        if len(values) > MAX_FILTER_VALUES:
            raise forms.ValidationError(f"Give at most {MAX_FILTER_VALUES} values.", code="too_many")
        for each in values:
            rules.validate_single_line_text(each)
            if len(each) > self.max_length:
                raise forms.ValidationError(f"A value has at most {self.max_length} characters.", code="max_length")
        return [self.normalize(v) for v in values]


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class MultiValueFilter(filters.Filter):
    field_class = MultiValueField


class DateOrDateTimeField(forms.Field):
    """A date (YYYY-MM-DD) or an RFC 3339 datetime with offset, within the range a query may name."""

    default_validators = [rules.validate_query_date]

    default_error_messages = {
        "invalid": "Enter a date (YYYY-MM-DD) or an RFC 3339 datetime such as 2026-03-01T07:00:00Z.",
        "naive": "Include a UTC offset in the datetime (for example 2026-03-01T07:00:00Z).",
    }

    def to_python(self, value):
        if value in (None, ""):
            return None
        value = str(value).strip()
        try:
            parsed_date = parse_date(value)
            if parsed_date is not None:
                return parsed_date
            parsed = parse_datetime(value.replace(" ", "+") if value.count(" ") == 1 else value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        return parsed


@extend_schema_field({"type": "string", "example": "2026-03-01"})
class DateOrDateTimeFilter(filters.Filter):
    field_class = DateOrDateTimeField


class StrictBooleanField(forms.Field):
    TRUE = {"true", "1", "yes"}
    FALSE = {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        lowered = str(value).strip().lower()
        if lowered in self.TRUE:
            return True
        if lowered in self.FALSE:
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField

    def filter(self, qs, value):
        return qs  # read by activities.selectors.activity_filter, which picks the base set


class StableOrderingFilter(filters.OrderingFilter):
    """Nulls always last, and ties broken by newest id so pages never overlap.

    NULLS LAST only where a column can be null: on a NOT NULL column it would keep PostgreSQL from
    reading the (user, -activity_date, -id) index in order, and make it sort every row instead.
    """

    def filter(self, qs, value):
        fields = [v for v in (value or []) if v] or ["-activity_date"]
        order = []
        for field in fields:
            name = field.lstrip("-")
            nullable = Activity._meta.get_field(name).null
            if not nullable:
                order.append(f"-{name}" if field.startswith("-") else name)
            elif field.startswith("-"):
                order.append(F(name).desc(nulls_last=True))
            else:
                order.append(F(name).asc(nulls_last=True))
        return qs.order_by(*order, "-id")


class ActivityFilter(filters.FilterSet):
    activity_type = MultiValueFilter(
        method="filter_activity_type", normalize=rules.normalize_activity_type,
        max_length=rules.ACTIVITY_TYPE_MAX_LENGTH, help_text="Exact type; repeat or comma-separate for any-of.",
    )
    type = MultiValueFilter(
        method="filter_activity_type", normalize=rules.normalize_activity_type,
        max_length=rules.ACTIVITY_TYPE_MAX_LENGTH, help_text="Alias of activity_type.",
    )
    start_date = DateOrDateTimeFilter(
        method="filter_start_date", help_text="Inclusive lower bound on activity_date (date or RFC 3339 datetime)."
    )
    end_date = DateOrDateTimeFilter(
        method="filter_end_date", help_text="Inclusive upper bound; a date includes that whole day in your time zone."
    )
    tag = MultiValueFilter(
        method="filter_tag", normalize=rules.normalize_tag_name, max_length=rules.TAG_NAME_MAX_LENGTH,
        help_text="Has this tag; repeat for any-of.",
    )
    search = filters.CharFilter(
        method="filter_search", max_length=200, validators=[rules.validate_single_line_text],
        help_text="Case-insensitive substring of title, description or notes.",
    )
    min_distance_km = filters.NumberFilter(field_name="distance_km", lookup_expr="gte", min_value=Decimal(0))
    max_distance_km = filters.NumberFilter(field_name="distance_km", lookup_expr="lte", min_value=Decimal(0))
    min_duration = filters.NumberFilter(field_name="duration_minutes", lookup_expr="gte", min_value=Decimal(0))
    max_duration = filters.NumberFilter(field_name="duration_minutes", lookup_expr="lte", min_value=Decimal(0))
    ordering = StableOrderingFilter(
        fields=ORDERING_FIELDS, help_text="Sort field, optionally '-' prefixed; ties broken by -id."
    )
    include_deleted = StrictBooleanFilter(
        help_text="true: list only soft-deleted activities that can still be restored."
    )

    def __init__(self, data=None, queryset=None, *, user=None, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        self.user = user if user is not None else getattr(request, "user", None)

    def _tz(self):
        return self.user.tzinfo

    def filter_activity_type(self, queryset, name, value):
        return queryset.filter(activity_type__in=value)

    def filter_tag(self, queryset, name, value):
        # A subquery, not a join: an activity never appears twice whatever the tags.
        tagged = Activity.tags.through.objects.filter(tag__name__in=value, tag__user=self.user)
        return queryset.filter(pk__in=tagged.values("activity_id"))

    def filter_start_date(self, queryset, name, value):
        if isinstance(value, dt.datetime):
            return queryset.filter(activity_date__gte=value)
        return queryset.filter(activity_date__gte=local_day_start(value, self._tz()))

    def filter_end_date(self, queryset, name, value):
        if isinstance(value, dt.datetime):
            return queryset.filter(activity_date__lte=value)
        next_day = value + dt.timedelta(days=1)
        return queryset.filter(activity_date__lt=local_day_start(next_day, self._tz()))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value) | Q(notes__icontains=value))
