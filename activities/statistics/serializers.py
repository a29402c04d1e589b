"""Query parameters and response shapes of the statistics endpoints (API.md §4)."""

from rest_framework import serializers

from activities import rules


class TopTagsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50)


class TrendsQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(required=False, default=12, min_value=1, max_value=120)
    activity_type = serializers.CharField(
        required=False, max_length=rules.ACTIVITY_TYPE_MAX_LENGTH, allow_blank=True,
        validators=[rules.validate_single_line_text],
    )


_TypeCounts = serializers.DictField(child=serializers.IntegerField())


class RangeStatsSerializer(serializers.Serializer):
    start_date = serializers.CharField(help_text="The first bound as asked: a date (YYYY-MM-DD) or an RFC 3339 "
                                                 "instant in UTC (a datetime was asked); by default a date.")
    end_date = serializers.CharField(help_text="The last bound, likewise.")
    total_activities = serializers.IntegerField()
    total_duration_minutes = serializers.IntegerField()
    total_distance_km = serializers.FloatField()
    total_calories = serializers.IntegerField()
    activity_types = _TypeCounts


class PeriodStatsSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=["last_7_days", "last_30_days"])
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    total_activities = serializers.IntegerField()
    total_duration_minutes = serializers.IntegerField()
    total_distance_km = serializers.FloatField()
    avg_duration_minutes = serializers.FloatField()


class MonthlyStatsSerializer(PeriodStatsSerializer):
    activity_types = _TypeCounts


class ByTypeSerializer(serializers.Serializer):
    activity_breakdown = _TypeCounts
    total_activities = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    username = serializers.CharField()
    member_since = serializers.DateField()
    total_activities = serializers.IntegerField()
    total_duration_minutes = serializers.IntegerField()
    total_distance_km = serializers.FloatField()
    unique_tag_count = serializers.IntegerField()
    last_activity_date = serializers.DateTimeField(allow_null=True)
    activity_level = serializers.ChoiceField(choices=["inactive", "beginner", "intermediate", "active", "expert"])
    current_streak_days = serializers.IntegerField()
    longest_streak_days = serializers.IntegerField()


class TagCountSerializer(serializers.Serializer):
    tag_name = serializers.CharField()
    count = serializers.IntegerField()


class TopTagsSerializer(serializers.Serializer):
    tags = TagCountSerializer(many=True)
    total_unique_tags = serializers.IntegerField()


class StreaksSerializer(serializers.Serializer):
    current_streak_days = serializers.IntegerField()
    longest_streak_days = serializers.IntegerField()
    longest_streak_start = serializers.DateField(allow_null=True)
    longest_streak_end = serializers.DateField(allow_null=True)
    today = serializers.DateField()


class RecordSerializer(serializers.Serializer):
    value = serializers.FloatField()
    activity_id = serializers.IntegerField()
    activity_date = serializers.DateTimeField()


class TypeRecordsSerializer(serializers.Serializer):
    longest_distance_km = RecordSerializer(required=False)
    longest_duration_minutes = RecordSerializer(required=False)
    most_calories = RecordSerializer(required=False)
    fastest_pace_min_per_km = RecordSerializer(required=False)


class StreakRecordSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)


class RecordsSerializer(serializers.Serializer):
    records = serializers.DictField(child=TypeRecordsSerializer())
    longest_streak_days = StreakRecordSerializer()


class ChangeSerializer(serializers.Serializer):
    activities_change_pct = serializers.FloatField(allow_null=True)
    distance_change_pct = serializers.FloatField(allow_null=True)


class TrendMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    total_activities = serializers.IntegerField()
    total_distance_km = serializers.FloatField()
    total_duration_minutes = serializers.IntegerField()
    average_pace_min_per_km = serializers.FloatField(allow_null=True)
    vs_previous_month = ChangeSerializer()


class TrendsSerializer(serializers.Serializer):
    trends = TrendMonthSerializer(many=True)
    total_months = serializers.IntegerField()
