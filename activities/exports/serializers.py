"""Report job representations (API.md §6)."""

from rest_framework import serializers

from activelog.storage import EXPORT_LINK_SECONDS, signed_url
from activities.models import ExportJob


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
