"""Browser routes of the exports area."""

from django.urls import path

from activities.exports import web_views

urlpatterns = [
    path("exports", web_views.exports_page, name="exports-page"),
]
