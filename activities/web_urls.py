"""Browser routes of activities, and of the photos, exports and statistics areas (wiring)."""

from django.urls import include, path

from activities import web_views

urlpatterns = [
    path("", include("activities.statistics.web_urls")),
    path("", include("activities.exports.web_urls")),
    path("", include("activities.photos.web_urls")),
    path("activities", web_views.activity_list, name="activity-page-list"),
    path("activities/new", web_views.activity_new, name="activity-page-new"),
    path("activities/trash", web_views.activity_trash, name="activity-page-trash"),
    path("activities/<int:activity_id>", web_views.activity_detail, name="activity-page-detail"),
    path("activities/<int:activity_id>/edit", web_views.activity_edit, name="activity-page-edit"),
    path("activities/<int:activity_id>/delete", web_views.activity_delete, name="activity-page-delete"),
    path("activities/<int:activity_id>/restore", web_views.activity_restore, name="activity-page-restore"),
]
