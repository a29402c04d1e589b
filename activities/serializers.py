"""Activity, tag and period representations of the API; the rules themselves are in
activities.rules (the serializers only call them)."""

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activelog.timezones import local_today
from activities import rules
from activities.models import Activity
from activities.services import MAX_BATCH


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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj: Activity) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_pace_min_per_km(self, obj: Activity) -> float | None:
        pace = obj.pace_min_per_km
        return float(pace) if pace is not None else None

    def get_photo_count(self, obj: Activity) -> int:
        annotated = getattr(obj, "photo_count", None)
        return annotated if annotated is not None else obj.photos.count()


class ActivityInputSerializer(serializers.Serializer):
    """Create, full update (PUT) and, with partial=True, PATCH."""

    activity_type = serializers.CharField(
        min_length=rules.ACTIVITY_TYPE_MIN_LENGTH, max_length=rules.ACTIVITY_TYPE_MAX_LENGTH
    )
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440)
    distance_km = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, max_value=1000, required=False, allow_null=True
    )
    calories_burned = serializers.IntegerField(min_value=0, max_value=20000, required=False, allow_null=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    activity_date = RFC3339DateTimeField(validators=[rules.validate_not_in_future])
    tags = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=rules.TAG_NAME_MAX_LENGTH),
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


class BatchCreateSerializer(serializers.Serializer):
    activities = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH, allow_empty=False
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


class RangeQuerySerializer(serializers.Serializer):
    """A period of local days (statistics for a range, the PDF report)."""

    start_date = serializers.DateField(required=False, help_text="First local day (default: 29 days before end_date).")
    end_date = serializers.DateField(required=False, help_text="Last local day, inclusive (default: today).")

    def validate(self, attrs):
        today = local_today(self.context["user"].tzinfo)
        start, end = rules.clean_period(start=attrs.get("start_date"), end=attrs.get("end_date"), today=today)
        return {"start": start, "end": end}
