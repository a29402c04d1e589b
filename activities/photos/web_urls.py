"""Browser routes of the photos area (upload to and delete from an activity's page)."""

from django.urls import path

from activities.photos import web_views

urlpatterns = [
    path("activities/<int:activity_id>/photos", web_views.photo_upload, name="photo-page-upload"),
    path("activities/<int:activity_id>/photos/<int:photo_id>/delete", web_views.photo_delete,
         name="photo-page-delete"),
]
