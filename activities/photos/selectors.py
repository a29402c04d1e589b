"""Reads of photos; the activity they belong to has been owner-checked already
(``activities.selectors.activity_get``)."""

from django.db.models import QuerySet

from activelog.errors import NotFound
from activities.models import Activity, Photo


def photo_list(*, activity: Activity) -> QuerySet[Photo]:
    """The activity's photos, newest first (an activity has at most 20: no pagination)."""
    return Photo.objects.filter(activity=activity).order_by("-uploaded_at", "-id")


def photo_get(*, activity: Activity, photo_id: int) -> Photo:
    """One photo of the activity; any other id is not found."""
    photo = Photo.objects.filter(activity=activity, pk=photo_id).first()
    if photo is None:
        raise NotFound("No photo with this id on this activity.")
    return photo
