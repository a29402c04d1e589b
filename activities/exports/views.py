"""CSV export (streamed) and PDF report jobs (API.md §6)."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from activelog.api.schema import location_header
from activelog.api.throttling import ExportRateThrottle, UserRateThrottle
from activelog.storage import EXPORT_LINK_SECONDS, signed_url
from activities.exports import selectors, services
from activities.exports.rendering import csv_download
from activities.exports.serializers import DownloadSerializer, JobCreatedSerializer, JobSerializer
from activities.filters import ActivityFilter
from activities.models import Activity, ExportJob
from activities.serializers import RangeQuerySerializer


def job_status_url(request, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("job-status", args=[job.pk]))


class CsvExportView(APIView):
    # The schema reads the query parameters from here: the list's filters. The filtering itself is
    # selectors.activities_for_csv.
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter

    def get_queryset(self):
        return Activity.objects.none()  # schema generation only

    @extend_schema(
        tags=["exports"],
        summary="Download activities as CSV (streamed; same filters as the list)",
        description="A `text/csv` attachment `activelog-activities-YYYYMMDD.csv` with the columns "
        "`id,activity_type,title,description,duration_minutes,distance_km,calories_burned,notes,activity_date,"
        "tags,created_at`, oldest activity first (then by id). Tags are joined by `;`; cells that start with "
        "`= + - @` are prefixed with `'`. The filters are the list's; deleted activities are never exported "
        "and the order is fixed (no `ordering`).",
        filters=True,
        parameters=[
            OpenApiParameter("include_deleted", exclude=True),
            OpenApiParameter("ordering", exclude=True),
            OpenApiParameter(
                "Content-Disposition", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[200],
                description='attachment; filename="activelog-activities-YYYYMMDD.csv" (your local date).',
            ),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        activities = selectors.activities_for_csv(user=request.user, filters=request.query_params)
        return csv_download(user=request.user, activities=activities)


class PdfExportView(APIView):
    throttle_classes = [UserRateThrottle, ExportRateThrottle]

    @extend_schema(
        tags=["exports"],
        summary="Request a PDF report of a period (default: the last 30 days); rendered in the background",
        description="`start_date` and `end_date` are local days, both included; a report covers at most 5 years "
        "(a longer period is a 400 naming `start_date`). The body may be empty or omitted: the last 30 days. "
        "Follow `status_url` (also the Location header) until the job is completed, then ask for the download "
        "link. Limited per user (THROTTLE_RATE_EXPORT, 20 an hour by default).",
        request=RangeQuerySerializer,
        responses={
            202: JobCreatedSerializer,
            503: OpenApiResponse(description="The report queue (or the database) is unavailable: retry after "
                                 "Retry-After seconds. No job is left pending."),
        },
        parameters=[location_header(202, "The job's status URL (`status_url`).")],
    )
    def post(self, request):
        if not isinstance(request.data, dict):  # an empty body is an empty dict; [..] or "x" is not a period
            message = "Send a JSON object with start_date and end_date (both optional)."
            raise ValidationError({"non_field_errors": [message]})
        period = RangeQuerySerializer(data=request.data, context={"user": request.user})
        period.is_valid(raise_exception=True)
        start, end = period.validated_data["start"], period.validated_data["end"]
        job = services.export_job_create(user=request.user, start=start, end=end)
        body = {"job_id": job.pk, "status": job.status, "status_url": job_status_url(request, job)}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class JobListView(generics.ListAPIView):
    serializer_class = JobSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return selectors.export_job_list(user=self.request.user)

    @extend_schema(tags=["exports"], summary="Your export jobs, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class JobStatusView(APIView):
    @extend_schema(tags=["exports"], summary="A report job's status and progress", responses={200: JobSerializer})
    def get(self, request, job_id):
        job = selectors.export_job_get(user=request.user, job_id=job_id)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobDownloadView(APIView):
    @extend_schema(
        tags=["exports"],
        summary="A link to the finished report, valid for 15 minutes",
        responses={200: DownloadSerializer,
                   409: OpenApiResponse(description="The report is not completed yet, or it failed.")},
    )
    def get(self, request, job_id):
        job = selectors.export_job_get_finished(user=request.user, job_id=job_id)
        expires_at = timezone.now() + dt.timedelta(seconds=EXPORT_LINK_SECONDS)
        url = signed_url(job.file.name, seconds=EXPORT_LINK_SECONDS, request=request)
        return Response({"download_url": url, "expires_at": expires_at})
