"""Statistics endpoints (API.md §4)."""

from django.urls import path

from activities.statistics import views

urlpatterns = [
    path("activities/stats", views.RangeStatsView.as_view(), name="stats-range"),
    path("users/me/stats/weekly", views.WeeklyStatsView.as_view(), name="stats-weekly"),
    path("users/me/stats/monthly", views.MonthlyStatsView.as_view(), name="stats-monthly"),
    path("users/me/stats/by-type", views.ByTypeStatsView.as_view(), name="stats-by-type"),
    path("users/me/summary", views.SummaryView.as_view(), name="stats-summary"),
    path("users/me/tags/top", views.TopTagsView.as_view(), name="stats-top-tags"),
    path("users/me/streaks", views.StreaksView.as_view(), name="stats-streaks"),
    path("analytics/records", views.RecordsView.as_view(), name="analytics-records"),
    path("analytics/trends/monthly", views.MonthlyTrendsView.as_view(), name="analytics-trends-monthly"),
]
