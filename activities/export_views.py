"""CSV export (streamed) and PDF report jobs (API.md §6)."""

import datetime as dt

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from activelog.api.errors import Conflict
from activelog.api.schema import PROBLEM_RESPONSES
from activelog.api.throttling import ExportRateThrottle, UserRateThrottle
from activelog.storage import EXPORT_LINK_SECONDS, signed_url
from activities import export_services
from activities.filters import ActivityFilter
from activities.models import ExportJob
from activities.reports import activities_for_export, csv_rows
from activities.statistics import local_today
from activities.stats_serializers import RangeQuerySerializer


def job_status_url(request, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("job-status", args=[job.pk]))


class JobSerializer(serializers.ModelSerializer):
    job_id = serializers.UUIDField(source="pk", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["job_id", "format", "status", "progress", "created_at", "completed_at", "record_count",
                  "file_size", "error_message", "download_url", "start_date", "end_date", "expires_at"]
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.COMPLETED or not job.file:
            return None
        return signed_url(job.file.name, seconds=EXPORT_LINK_SECONDS, request=self.context.get("request"))


class JobCreatedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.CharField()
    status_url = serializers.URLField()


class DownloadSerializer(serializers.Serializer):
    download_url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class CsvExportView(APIView):
    @extend_schema(
        tags=["exports"],
        summary="Download activities as CSV (streamed; same filters as the list)",
        parameters=[
            OpenApiParameter("start_date", OpenApiTypes.STR), OpenApiParameter("end_date", OpenApiTypes.STR),
            OpenApiParameter("activity_type", OpenApiTypes.STR), OpenApiParameter("tag", OpenApiTypes.STR),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR, **PROBLEM_RESPONSES},
    )
    def get(self, request):
        filters = ActivityFilter(request.query_params, queryset=activities_for_export(request.user), request=request)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        response = StreamingHttpResponse(csv_rows(filters.qs), content_type="text/csv; charset=utf-8")
        filename = f"activelog-activities-{local_today(request.user):%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


class PdfExportView(APIView):
    throttle_classes = [UserRateThrottle, ExportRateThrottle]

    @extend_schema(
        tags=["exports"],
        summary="Request a PDF report of a period (default: the last 30 days); rendered in the background",
        request=RangeQuerySerializer,
        responses={202: JobCreatedSerializer, **PROBLEM_RESPONSES},
    )
    def post(self, request):
        period = RangeQuerySerializer(data=request.data if isinstance(request.data, dict) else {},
                                      context={"user": request.user})
        period.is_valid(raise_exception=True)
        start, end = period.validated_data["start"], period.validated_data["end"]
        if (end - start) > dt.timedelta(days=366 * 5):
            raise ValidationError({"start_date": ["A report covers at most 5 years."]})
        job = export_services.export_job_create(user=request.user, start=start, end=end)
        body = {"job_id": job.pk, "status": job.status, "status_url": job_status_url(request, job)}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


def _job(request, job_id) -> ExportJob:
    job = ExportJob.objects.filter(user=request.user, pk=job_id).first()
    if job is None:
        raise NotFound("No export job with this id.")
    return job


class JobListView(generics.ListAPIView):
    serializer_class = JobSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return ExportJob.objects.filter(user=self.request.user).order_by("-created_at")

    @extend_schema(tags=["exports"], summary="Your export jobs, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class JobStatusView(APIView):
    @extend_schema(tags=["exports"], responses={200: JobSerializer, **PROBLEM_RESPONSES})
    def get(self, request, job_id):
        return Response(JobSerializer(_job(request, job_id), context={"request": request}).data)


class JobDownloadView(APIView):
    @extend_schema(
        tags=["exports"],
        summary="A link to the finished report, valid for 15 minutes",
        responses={200: DownloadSerializer, 409: OpenApiResponse(description="Not completed yet"),
                   **PROBLEM_RESPONSES},
    )
    def get(self, request, job_id):
        job = _job(request, job_id)
        if job.status != ExportJob.Status.COMPLETED or not job.file:
            if job.status == ExportJob.Status.FAILED:
                raise Conflict(f"This report failed and has no file: {job.error_message}")
            raise Conflict(f"The report is not ready yet ({job.status}, {job.progress}%).")
        expires_at = timezone.now() + dt.timedelta(seconds=EXPORT_LINK_SECONDS)
        url = signed_url(job.file.name, seconds=EXPORT_LINK_SECONDS, request=request)
        return Response({"download_url": url, "expires_at": expires_at})
