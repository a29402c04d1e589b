"""Stored files leave with their rows, whichever way the rows go (activities/files.py). The S3
outages (objects recorded and swept) are in test_s3_outages.py."""

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DatabaseError, transaction

from accounts.services import user_delete
from activities.files import stored_file_deletions_sweep, stored_files, stored_files_delete
from activities.models import Photo, StoredFileDeletion
from activities.photos.services import photo_delete
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory, ExportJobFactory, PhotoFactory, UserFactory

pytestmark = pytest.mark.django_db


def names_of(*photos: Photo) -> list[str]:
    return [name for photo in photos for name in (photo.image.name, photo.thumbnail.name)]


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

    assert len(callbacks) == 2  # the stored objects' deletion, then the user cache's drop (the version bump)
    assert sorted(StoredFileDeletion.objects.values_list("name", flat=True)) == sorted(names_of(photo))
    callbacks[0]()
    assert not any(default_storage.exists(name) for name in names_of(photo))
    assert not StoredFileDeletion.objects.exists()


def test_a_rolled_back_deletion_rolls_back_its_records_and_keeps_its_files(django_capture_on_commit_callbacks):
    photo = PhotoFactory()

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Abort), transaction.atomic():
        photo_delete(photo=photo)
        assert StoredFileDeletion.objects.count() == 2
        raise Abort

    assert callbacks == []
    assert not StoredFileDeletion.objects.exists()
    assert all(default_storage.exists(name) for name in names_of(photo))


def test_one_object_that_cannot_be_deleted_keeps_its_record_and_does_not_stop_the_others(
    monkeypatch, django_capture_on_commit_callbacks
):
    photos = [PhotoFactory() for _ in range(2)]
    stuck = photos[0].image.name
    real_delete = FileSystemStorage.delete

    def delete(self, name):
        if name == stuck:
            raise PermissionError(13, "Permission denied")
        real_delete(self, name)

    monkeypatch.setattr(FileSystemStorage, "delete", delete)
    with django_capture_on_commit_callbacks(execute=True):
        Photo.objects.filter(pk__in=[p.pk for p in photos]).delete()

    (record,) = StoredFileDeletion.objects.all()
    assert (record.name, record.attempts) == (stuck, 1)
    assert record.last_error == "PermissionError: [Errno 13] Permission denied"
    assert [name for name in names_of(*photos) if default_storage.exists(name)] == [stuck]

    assert stored_file_deletions_sweep() == {"deleted": 0, "failed": 1, "left": 1}
    monkeypatch.setattr(FileSystemStorage, "delete", real_delete)
    assert stored_file_deletions_sweep() == {"deleted": 1, "failed": 0, "left": 0}
    assert not default_storage.exists(stuck)


def test_an_upload_is_undone_even_when_the_database_cannot_record_it(monkeypatch):
    """photo_attach undoes its uploads after a database failure: without a record to write, the
    objects are deleted directly."""
    photo = PhotoFactory()

    def no_database(*args, **kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(StoredFileDeletion.objects, "bulk_create", no_database)
    stored_files_delete(stored_files(photo.image, photo.thumbnail))

    assert not any(default_storage.exists(name) for name in names_of(photo))
