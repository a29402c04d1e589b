from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from activelog.api.errors import flatten_errors
from activelog.api.schema import location_header
from activities import selectors, serializers, services
from activities.filters import ActivityFilter
from activities.models import Activity


def _output(activity) -> dict:
    return serializers.ActivityOutputSerializer(activity).data


class ActivityListCreateView(generics.GenericAPIView):
    serializer_class = serializers.ActivityOutputSerializer
    # The schema reads the list parameters from here; the filtering itself is selectors.activity_list.
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Activity.objects.none()
        return selectors.activity_list(user=self.request.user)

    def cache_keys_read_ahead(self, request, user_id) -> list[str]:
        """Read with the signed-in user in one Redis round trip (activelog/read_ahead.py): the total
        of a page of the unfiltered list."""
        if request.method == "GET" and selectors.is_plain_page(request.query_params):
            return [selectors.activity_count_key(user_id)]
        return []

    @extend_schema(
        tags=["activities"],
        summary="List activities (newest first)",
        description="Filters combine (AND). An unknown `ordering` field or an unparsable date or number is a "
        "400 problem naming the parameter.",
        responses={200: serializers.ActivityOutputSerializer(many=True)},
    )
    def get(self, request):
        activities = selectors.activity_list(user=request.user, filters=request.query_params)
        page = self.paginate_queryset(activities)
        return self.get_paginated_response(serializers.ActivityOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["activities"],
        summary="Log an activity",
        request=serializers.ActivityInputSerializer,
        responses={201: serializers.ActivityOutputSerializer},
        parameters=[location_header(201, "The new activity's URL.")],
    )
    def post(self, request):
        data = serializers.ActivityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activity = services.activity_create(user=request.user, data=data.validated_data)
        activity = selectors.activity_get(user=request.user, activity_id=activity.pk)
        location = request.build_absolute_uri(reverse("activity-detail", args=[activity.pk]))
        return Response(_output(activity), status=status.HTTP_201_CREATED, headers={"Location": location})


class ActivityDetailView(APIView):
    def cache_keys_read_ahead(self, request, user_id) -> list[str]:
        """Read with the signed-in user in one Redis round trip (activelog/read_ahead.py): the
        activity as last read for this user (selectors.activity_get's ``kept``)."""
        if request.method == "GET" and "activity_id" in self.kwargs:
            return [selectors.activity_key(user_id, self.kwargs["activity_id"])]
        return []

    @extend_schema(tags=["activities"], summary="One activity", responses={200: serializers.ActivityOutputSerializer})
    def get(self, request, activity_id: int):
        return Response(_output(selectors.activity_get(user=request.user, activity_id=activity_id, kept=True)))

    def _update(self, request, activity_id: int, *, partial: bool):
        activity = selectors.activity_get(user=request.user, activity_id=activity_id)
        data = serializers.ActivityInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.activity_update(activity=activity, data=data.validated_data)
        return Response(_output(selectors.activity_get(user=request.user, activity_id=activity_id)))

    @extend_schema(
        tags=["activities"],
        summary="Replace an activity (same rules as create)",
        request=serializers.ActivityInputSerializer,
        responses={200: serializers.ActivityOutputSerializer},
    )
    def put(self, request, activity_id: int):
        return self._update(request, activity_id, partial=False)

    @extend_schema(
        tags=["activities"],
        summary="Change some fields of an activity (tags replaces the set)",
        request=serializers.ActivityInputSerializer(partial=True),
        responses={200: serializers.ActivityOutputSerializer},
    )
    def patch(self, request, activity_id: int):
        return self._update(request, activity_id, partial=True)

    @extend_schema(
        tags=["activities"],
        summary="Soft-delete an activity (restorable for 30 days)",
        responses={204: OpenApiResponse(description="Deleted")},
    )
    def delete(self, request, activity_id: int):
        services.activity_soft_delete(activity=selectors.activity_get(user=request.user, activity_id=activity_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActivityRestoreView(APIView):
    @extend_schema(
        tags=["activities"],
        summary="Undo a soft delete made within the last 30 days",
        request=None,
        responses={200: serializers.ActivityOutputSerializer},
    )
    def post(self, request, activity_id: int):
        services.activity_restore(user=request.user, activity_id=activity_id)
        return Response(_output(selectors.activity_get(user=request.user, activity_id=activity_id)))


class ActivityBatchView(APIView):
    @extend_schema(
        tags=["activities"],
        summary="Create up to 50 activities; each item is validated and saved on its own",
        request=serializers.BatchCreateSerializer,
        responses={
            201: serializers.BatchCreateResultSerializer,
            207: serializers.BatchCreateResultSerializer,
        },
    )
    def post(self, request):
        batch = serializers.BatchCreateSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        items = []
        for item in batch.validated_data["activities"]:
            item_data = serializers.ActivityInputSerializer(data=item)
            valid = item_data.is_valid()
            items.append(item_data.validated_data if valid else DjangoValidationError(flatten_errors(item_data.errors)))
        results = services.activity_batch_create(user=request.user, items=items)
        created_ids = [result.activity.pk for result in results if result.activity is not None]
        shown = {a.pk: a for a in selectors.activity_list(user=request.user).filter(pk__in=created_ids)}
        body_results = []
        for result in results:
            if result.activity is not None:
                activity = _output(shown[result.activity.pk])
                body_results.append({"index": result.index, "status": 201, "activity": activity})
            else:
                errors = flatten_errors(as_serializer_error(result.error))
                body_results.append({"index": result.index, "status": 400, "errors": errors})
        created = len(created_ids)
        failed = len(results) - created
        body = {"created": created, "failed": failed, "results": body_results}
        return Response(body, status=status.HTTP_201_CREATED if failed == 0 else status.HTTP_207_MULTI_STATUS)

    @extend_schema(
        tags=["activities"],
        summary="Soft-delete up to 50 activities",
        request=serializers.BatchDeleteSerializer,
        responses={200: serializers.BatchDeleteResultSerializer},
    )
    def delete(self, request):
        data = serializers.BatchDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deleted, not_found = services.activity_batch_soft_delete(user=request.user, ids=data.validated_data["ids"])
        return Response({"deleted": deleted, "not_found": not_found})


class TagListView(APIView):
    @extend_schema(
        tags=["tags"],
        summary="Your tags with how many activities use each, most used first",
        responses={200: serializers.TagUsageSerializer(many=True)},
    )
    def get(self, request):
        tags = selectors.tag_usage_list(user=request.user)
        return Response(serializers.TagUsageSerializer(tags, many=True).data)
