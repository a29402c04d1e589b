"""Export and job endpoints (API.md §6)."""

from django.urls import path

from activities import export_views

urlpatterns = [
    path("activities/export/csv", export_views.CsvExportView.as_view(), name="export-csv"),
    path("activities/export/pdf", export_views.PdfExportView.as_view(), name="export-pdf"),
    path("jobs", export_views.JobListView.as_view(), name="job-list"),
    path("jobs/<uuid:job_id>/status", export_views.JobStatusView.as_view(), name="job-status"),
    path("jobs/<uuid:job_id>/download", export_views.JobDownloadView.as_view(), name="job-download"),
]
