"""Photo endpoints (API.md §5)."""

from django.urls import path

from activities.photos import views

urlpatterns: list = [
    path(
        "activities/<int:activity_id>/photos",
        views.ActivityPhotoListView.as_view(),
        name="activity-photo-list",
    ),
    path(
        "activities/<int:activity_id>/photos/<int:photo_id>",
        views.ActivityPhotoDetailView.as_view(),
        name="activity-photo-detail",
    ),
]
