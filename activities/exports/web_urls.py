"""Browser routes of the exports area."""

from django.urls import path

from activities.exports import web_views

urlpatterns = [
    path("exports", web_views.exports_page, name="exports-page"),
    path("exports/csv", web_views.exports_csv, name="exports-page-csv"),
    path("exports/pdf", web_views.exports_pdf, name="exports-page-pdf"),
    path("exports/jobs/<uuid:job_id>", web_views.export_job, name="exports-page-job"),
]
