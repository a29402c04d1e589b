"""CSV export (streamed) and PDF report jobs (API.md §6)."""

import datetime as dt

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from activelog.api.schema import PROBLEM_RESPONSES
from activelog.api.throttling import ExportRateThrottle, UserRateThrottle
from activelog.storage import EXPORT_LINK_SECONDS, signed_url
from activelog.timezones import local_today
from activities.exports import selectors, services
from activities.exports.rendering import csv_rows
from activities.exports.serializers import DownloadSerializer, JobCreatedSerializer, JobSerializer
from activities.models import ExportJob
from activities.serializers import RangeQuerySerializer


def job_status_url(request, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("job-status", args=[job.pk]))


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
        activities = selectors.activities_for_csv(user=request.user, filters=request.query_params)
        response = StreamingHttpResponse(csv_rows(activities), content_type="text/csv; charset=utf-8")
        filename = f"activelog-activities-{local_today(request.user.tzinfo):%Y%m%d}.csv"
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
    @extend_schema(tags=["exports"], responses={200: JobSerializer, **PROBLEM_RESPONSES})
    def get(self, request, job_id):
        job = selectors.export_job_get(user=request.user, job_id=job_id)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobDownloadView(APIView):
    @extend_schema(
        tags=["exports"],
        summary="A link to the finished report, valid for 15 minutes",
        responses={200: DownloadSerializer, 409: OpenApiResponse(description="Not completed yet"),
                   **PROBLEM_RESPONSES},
    )
    def get(self, request, job_id):
        job = selectors.export_job_get_finished(user=request.user, job_id=job_id)
        expires_at = timezone.now() + dt.timedelta(seconds=EXPORT_LINK_SECONDS)
        url = signed_url(job.file.name, seconds=EXPORT_LINK_SECONDS, request=request)
        return Response({"download_url": url, "expires_at": expires_at})
