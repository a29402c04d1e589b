"""Activity, tag and period representations of the API; the rules themselves are in
activities.rules (the serializers only call them)."""

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activelog.timezones import local_today
from activities import rules
from activities.models import Activity
from activities.services import MAX_BATCH


class TextField(serializers.CharField):
    """Text, and only text: DRF's CharField turns a number into its digits (``"tags": [0]`` would
    save a tag "0"); a client sending a number where text belongs has a bug worth a 400."""

    default_error_messages = {"not_text": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)

class RFC3339DateTimeField(serializers.DateTimeField):
    """A datetime with an explicit offset; a naive one is ambiguous and refused."""

    default_error_messages = {
        "naive": "Include a UTC offset (for example 2026-03-01T07:00:00Z).",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            parsed = None
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                pass
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class ActivityOutputSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()
    pace_min_per_km = serializers.SerializerMethodField()
    photo_count = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = [
            "id",
            *Activity.EDITABLE_FIELDS,
            "tags",
            "pace_min_per_km",
            "photo_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"distance_km": {"help_text": "Kilometres, at most 2 decimals; null when not recorded."}}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj: Activity) -> list[str]:
        return obj.tag_names

    @extend_schema_field(serializers.FloatField(
        allow_null=True, help_text="duration_minutes / distance_km, 2 decimals; null without a distance."
    ))
    def get_pace_min_per_km(self, obj: Activity) -> float | None:
        pace = obj.pace_min_per_km
        return float(pace) if pace is not None else None

    def get_photo_count(self, obj: Activity) -> int:
        annotated = getattr(obj, "photo_count", None)
        return annotated if annotated is not None else obj.photos.count()

    def to_representation(self, instance: Activity) -> dict:
        """The fields above, written out: what ModelSerializer would give, byte for byte once
        rendered (tests/activities/test_serializers.py compares the two on varied activities),
        without building and deep-copying its fields per request and walking them per row (a
        sixth of the list's cost, bench/profile_endpoint.py). A field added to Meta.fields must
        be added here too; that test fails until it is."""
        tz = timezone.get_current_timezone()
        return {
            "id": instance.pk,
            "activity_type": instance.activity_type,
            "title": instance.title,
            "description": instance.description,
            "duration_minutes": instance.duration_minutes,
            "distance_km": instance.distance_km,
            "calories_burned": instance.calories_burned,
            "notes": instance.notes,
            "activity_date": _rfc3339(instance.activity_date, tz),
            "tags": self.get_tags(instance),
            "pace_min_per_km": self.get_pace_min_per_km(instance),
            "photo_count": self.get_photo_count(instance),
            "created_at": _rfc3339(instance.created_at, tz),
            "updated_at": _rfc3339(instance.updated_at, tz),
        }


def _rfc3339(value, tz) -> str | None:
    """DRF's DateTimeField output (ISO 8601 in the current time zone, "Z" for UTC)."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ActivityInputSerializer(serializers.Serializer):
    """Create, full update (PUT) and, with partial=True, PATCH."""

    activity_type = TextField(
        min_length=rules.ACTIVITY_TYPE_MIN_LENGTH, max_length=rules.ACTIVITY_TYPE_MAX_LENGTH
    )
    title = TextField(
        max_length=rules.TITLE_MAX_LENGTH, required=False, allow_blank=True,
        validators=[rules.validate_single_line_text],
    )
    description = TextField(
        max_length=rules.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True,
        validators=[rules.validate_multi_line_text],
    )
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440)
    distance_km = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, max_value=1000, required=False, allow_null=True,
        help_text="Kilometres, 0 to 1000 with at most 2 decimals; null (or left out) when not recorded.",
    )
    calories_burned = serializers.IntegerField(min_value=0, max_value=20000, required=False, allow_null=True)
    notes = TextField(
        max_length=rules.NOTES_MAX_LENGTH, required=False, allow_blank=True,
        validators=[rules.validate_multi_line_text],
    )
    activity_date = RFC3339DateTimeField(validators=[rules.validate_activity_date])
    tags = serializers.ListField(
        child=TextField(
            min_length=1, max_length=rules.TAG_NAME_MAX_LENGTH, validators=[rules.validate_single_line_text]
        ),
        max_length=rules.MAX_TAGS_PER_ACTIVITY,
        required=False,
    )

    def validate_activity_type(self, value: str) -> str:
        return rules.clean_activity_type(value)

    def validate_tags(self, value: list[str]) -> list[str]:
        return rules.clean_tag_names(value)

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        if not self.partial:
            # PUT replaces the whole activity: omitted optional fields return to their defaults.
            for name, default in (("title", ""), ("description", ""), ("notes", ""),
                                  ("distance_km", None), ("calories_burned", None), ("tags", [])):
                validated.setdefault(name, default)
        return validated


@extend_schema_field(ActivityInputSerializer)
class BatchItemField(serializers.JSONField):
    """One item of a batch, documented as the activity it should be. The view validates each item
    on its own: an invalid one is reported in the results (a 207) and the others are still created."""


class BatchCreateSerializer(serializers.Serializer):
    activities = serializers.ListField(
        child=BatchItemField(), min_length=1, max_length=MAX_BATCH, allow_empty=False
    )


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField()
    activity = ActivityOutputSerializer(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class BatchCreateResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchItemResultSerializer(many=True)


class BatchDeleteSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_BATCH, allow_empty=False
    )


class BatchDeleteResultSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()
    not_found = serializers.ListField(child=serializers.IntegerField())


class TagUsageSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


@extend_schema_field({"type": "string", "example": "2026-03-01"})
class DateOrInstantField(serializers.Field):
    """A local day (YYYY-MM-DD) or an instant (an RFC 3339 datetime with offset), within the range
    a query may name (activities.rules.validate_query_date)."""

    default_error_messages = {
        "invalid": "Enter a date (YYYY-MM-DD) or an RFC 3339 datetime such as 2026-03-01T07:00:00Z.",
        "naive": "Include a UTC offset in the datetime (for example 2026-03-01T07:00:00Z).",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [rules.validate_query_date])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        try:
            day = parse_date(text)
            instant = None if day is not None else parse_datetime(text)
        except ValueError:  # well-formed but impossible, such as 2026-02-30
            self.fail("invalid")
        if day is not None:
            return day
        if instant is None:
            self.fail("invalid")
        if instant.tzinfo is None:
            self.fail("naive")
        return instant

    def to_representation(self, value):
        return value.isoformat()


class RangeQuerySerializer(serializers.Serializer):
    """A period: each bound a local day (the user's, inclusive) or an instant. Statistics for a
    range take both; a report (activities.exports) is made of whole days and refuses instants."""

    start_date = DateOrInstantField(
        required=False,
        help_text="First local day (YYYY-MM-DD), or an RFC 3339 instant (default: 29 days before end_date).",
    )
    end_date = DateOrInstantField(
        required=False, help_text="Last local day, inclusive, or an RFC 3339 instant (default: today)."
    )

    def validate(self, attrs):
        tz = self.context["user"].tzinfo
        start, end = rules.clean_period(
            start=attrs.get("start_date"), end=attrs.get("end_date"), today=local_today(tz), tz=tz
        )
        return {"start": start, "end": end}


class ReportPeriodSerializer(RangeQuerySerializer):
    """A report's period: whole local days only (a PDF is made of days)."""

    start_date = serializers.DateField(
        required=False, validators=[rules.validate_query_date],
        help_text="First local day (default: 29 days before end_date).",
    )
    end_date = serializers.DateField(
        required=False, validators=[rules.validate_query_date], help_text="Last local day, inclusive (default: today).",
    )

