"""Stored files leave with their rows, whichever way the rows go (activities/files.py)."""

import pytest
from django.core.files.storage import default_storage

from accounts.services import user_delete
from activities.models import Photo
from activities.photos.services import photo_delete
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory, ExportJobFactory, PhotoFactory, UserFactory

pytestmark = pytest.mark.django_db


def names_of(photo: Photo) -> list[str]:
    return [photo.image.name, photo.thumbnail.name]


def test_account_deletion_removes_every_photo_and_report_of_that_account(user, django_capture_on_commit_callbacks):
    photos = [PhotoFactory(activity=ActivityFactory(user=user)) for _ in range(2)]
    report = ExportJobFactory(user=user, completed=True)
    others = PhotoFactory(activity=ActivityFactory(user=UserFactory()))
    mine = [name for photo in photos for name in names_of(photo)] + [report.file.name]
    assert all(default_storage.exists(name) for name in mine)

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=user, password=DEFAULT_PASSWORD)

    assert not any(default_storage.exists(name) for name in mine)
    assert all(default_storage.exists(name) for name in names_of(others))


def test_photo_files_stay_until_the_deletion_commits(django_capture_on_commit_callbacks):
    photo = PhotoFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photo_delete(photo=photo)
        assert all(default_storage.exists(name) for name in names_of(photo))

    assert len(callbacks) == 1
    callbacks[0]()
    assert not any(default_storage.exists(name) for name in names_of(photo))
