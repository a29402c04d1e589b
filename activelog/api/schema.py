"""Shared OpenAPI pieces: the problem-details body that every error response carries."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

Problem = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.URLField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "instance": serializers.CharField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors only: field (or field.index) -> messages.",
        ),
        "request_id": serializers.CharField(),
    },
)

PROBLEM_RESPONSES = {
    400: OpenApiResponse(Problem, description="Validation failed (application/problem+json)"),
    401: OpenApiResponse(Problem, description="Not authenticated"),
    404: OpenApiResponse(Problem, description="Not found (also for other users' resources)"),
    429: OpenApiResponse(Problem, description="Throttled; see Retry-After"),
}
