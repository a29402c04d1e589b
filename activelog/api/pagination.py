from rest_framework import pagination
from rest_framework.exceptions import ValidationError


def _non_negative_int(request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"Must be an integer (got {raw!r})."]}) from None
    if value < minimum:
        raise ValidationError({name: [f"Must be at least {minimum}."]})
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """?limit= (default 20, clamped to 100, below 1 is an error) and ?offset= (default 0)."""

    default_limit = 20
    max_limit = 100

    def get_limit(self, request):
        return min(_non_negative_int(request, self.limit_query_param, self.default_limit, 1), self.max_limit)

    def get_offset(self, request):
        return _non_negative_int(request, self.offset_query_param, 0, 0)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page: default {self.default_limit}; values above {self.max_limit} "
                f"are served as {self.max_limit}, below 1 are a 400 problem.",
                "schema": {"type": "integer", "minimum": 1, "default": self.default_limit},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "Items to skip: default 0.",
                "schema": {"type": "integer", "minimum": 0, "default": 0},
            },
        ]

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["required"] = ["count", "next", "previous", "results"]
        body["properties"]["count"]["description"] = "All matching items, not the page size."
        return body
