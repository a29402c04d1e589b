"""Export and job endpoints (API.md §6)."""

from django.urls import path

from activities.exports import views

urlpatterns = [
    path("activities/export/csv", views.CsvExportView.as_view(), name="export-csv"),
    path("activities/export/pdf", views.PdfExportView.as_view(), name="export-pdf"),
    path("jobs", views.JobListView.as_view(), name="job-list"),
    path("jobs/<uuid:job_id>/status", views.JobStatusView.as_view(), name="job-status"),
    path("jobs/<uuid:job_id>/download", views.JobDownloadView.as_view(), name="job-download"),
]
