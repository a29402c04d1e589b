"""Photo endpoints (API.md §5)."""

from django.urls import path

from activities import photo_views

urlpatterns: list = [
    path(
        "activities/<int:activity_id>/photos",
        photo_views.ActivityPhotoListView.as_view(),
        name="activity-photo-list",
    ),
    path(
        "activities/<int:activity_id>/photos/<int:photo_id>",
        photo_views.ActivityPhotoDetailView.as_view(),
        name="activity-photo-detail",
    ),
]
