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
