"""API routes of activities and tags, and of the photos, exports and statistics areas (wiring)."""

from django.urls import include, path

from activities import views

urlpatterns = [
    path("activities", views.ActivityListCreateView.as_view(), name="activity-list"),
    path("activities/batch", views.ActivityBatchView.as_view(), name="activity-batch"),
    path("activities/<int:activity_id>", views.ActivityDetailView.as_view(), name="activity-detail"),
    path("activities/<int:activity_id>/restore", views.ActivityRestoreView.as_view(), name="activity-restore"),
    path("tags", views.TagListView.as_view(), name="tag-list"),
    path("", include("activities.statistics.urls")),
    path("", include("activities.exports.urls")),
    path("", include("activities.photos.urls")),
]
