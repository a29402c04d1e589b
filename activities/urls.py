from django.urls import path

from activities import stats_views, views

urlpatterns = [
    path("activities/stats", stats_views.RangeStatsView.as_view(), name="stats-range"),
    path("users/me/stats/weekly", stats_views.WeeklyStatsView.as_view(), name="stats-weekly"),
    path("users/me/stats/monthly", stats_views.MonthlyStatsView.as_view(), name="stats-monthly"),
    path("users/me/stats/by-type", stats_views.ByTypeStatsView.as_view(), name="stats-by-type"),
    path("users/me/summary", stats_views.SummaryView.as_view(), name="stats-summary"),
    path("users/me/tags/top", stats_views.TopTagsView.as_view(), name="stats-top-tags"),
    path("users/me/streaks", stats_views.StreaksView.as_view(), name="stats-streaks"),
    path("analytics/records", stats_views.RecordsView.as_view(), name="analytics-records"),
    path("analytics/trends/monthly", stats_views.MonthlyTrendsView.as_view(), name="analytics-trends-monthly"),
    path("activities", views.ActivityListCreateView.as_view(), name="activity-list"),
    path("activities/batch", views.ActivityBatchView.as_view(), name="activity-batch"),
    path("activities/<int:activity_id>", views.ActivityDetailView.as_view(), name="activity-detail"),
    path("activities/<int:activity_id>/restore", views.ActivityRestoreView.as_view(), name="activity-restore"),
    path("tags", views.TagListView.as_view(), name="tag-list"),
]
