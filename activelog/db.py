"""Small ORM helpers shared by the apps."""

from django.db.models import Count, IntegerField, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce


def correlated_count(queryset: QuerySet, *, group_by: str) -> Coalesce:
    """How many rows of ``queryset`` (filtered with OuterRef) belong to each outer row, 0 when
    none: one indexed count per outer row, instead of a GROUP BY joined into the outer query."""
    counted = queryset.order_by().values(group_by).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
