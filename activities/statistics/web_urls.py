"""Browser routes of the statistics area."""

from django.urls import path

from activities.statistics import web_views

urlpatterns = [
    path("dashboard", web_views.dashboard, name="dashboard"),
    path("stats", web_views.stats_page, name="stats-page"),
]
