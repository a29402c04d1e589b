from django.urls import path

from activities import views

urlpatterns = [
    path("activities", views.ActivityListCreateView.as_view(), name="activity-list"),
    path("activities/batch", views.ActivityBatchView.as_view(), name="activity-batch"),
    path("activities/<int:activity_id>", views.ActivityDetailView.as_view(), name="activity-detail"),
    path("activities/<int:activity_id>/restore", views.ActivityRestoreView.as_view(), name="activity-restore"),
    path("tags", views.TagListView.as_view(), name="tag-list"),
]
