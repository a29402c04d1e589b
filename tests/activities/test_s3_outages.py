"""S3 failing under the app (issue 15): the media bucket on moto's server, reached through a
FaultyProxy that the test makes refuse connections (S3 down) or stall (a hung network), while the
test itself looks at the bucket directly.

- Deleting rows during an outage leaves no orphan: each object to delete is recorded in the same
  transaction as the row deletion and the record goes only once the object has gone; the sweep
  (Celery task, ``sweep_stored_files``, and the daily ``cleanup_exports``) finishes the job.
- Every S3 call has a deadline (connect/read timeouts, bounded attempts): an upload against a hung
  S3 is a 503 problem well inside the load balancer's 60 s idle timeout.
"""

import io
import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
from celery import current_app
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from activelog.s3 import s3_storage
from activities import files
from activities.models import Activity, ExportJob, Photo, StoredFileDeletion
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory, ExportJobFactory, PhotoFactory
from tests.support.faults import FaultyProxy
from tests.support.images import jpeg, png
from tests.support.servers import ROOT, clean_env

pytestmark = pytest.mark.django_db

# Small deadlines keep the fault tests quick; the production defaults are checked separately.
FAST = {"connect_timeout": 0.5, "read_timeout": 1.0, "max_attempts": 2}
# An upload (PUT with a body) first waits up to 1 s for "100 Continue" (fixed in botocore), then
# for the answer.
EXPECT_CONTINUE_WAIT = 1.0


def worst_call(connect_timeout: float, read_timeout: float, max_attempts: int, *, upload: bool = False) -> float:
    """The longest one S3 call can take against a silent S3, without the backoff between attempts."""
    return max_attempts * (connect_timeout + read_timeout + (EXPECT_CONTINUE_WAIT if upload else 0))


FAST_CALL = worst_call(**FAST)
FAST_UPLOAD_CALL = worst_call(**FAST, upload=True)
SWEEP_TASK = "activities.tasks.sweep_stored_files"
ALB_IDLE_TIMEOUT = 60


@pytest.fixture(autouse=True)
def _no_pause_left_behind():
    files.stored_files_resume()
    yield
    files.stored_files_resume()


@pytest.fixture
def s3(s3_media, s3_endpoint, settings):
    """The app's media storage goes through a FaultyProxy to moto; ``s3.bucket_names()`` lists the
    bucket as it really is."""
    upstream = urlparse(s3_endpoint)
    with FaultyProxy(upstream.hostname, upstream.port) as proxy:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_storage(bucket=s3_media.bucket, region="us-east-1",
                                  endpoint_url=f"http://127.0.0.1:{proxy.port}", **FAST),
        }
        proxy.bucket_names = lambda: sorted(
            item["Key"] for item in s3_media.list_objects_v2(Bucket=s3_media.bucket).get("Contents", [])
        )
        yield proxy


def pending() -> list:
    return list(StoredFileDeletion.objects.order_by("name"))


def pending_names() -> list[str]:
    return [deletion.name for deletion in pending()]


def names_of(*photos: Photo) -> list[str]:
    return sorted(name for photo in photos for name in (photo.image.name, photo.thumbnail.name))


def photos_url(activity_id: int, photo_id: int | None = None) -> str:
    url = f"/api/v1/activities/{activity_id}/photos"
    return url if photo_id is None else f"{url}/{photo_id}"


# --- deletion during an outage: recorded, then swept ---------------------------------------------


def test_photo_deleted_while_s3_refuses_is_recorded_and_the_daily_cleanup_removes_its_objects(
    s3, auth_client, user, django_capture_on_commit_callbacks
):
    activity = ActivityFactory(user=user)
    assert auth_client.post(photos_url(activity.pk), {"photos": [jpeg(), png()]}, format="multipart").status_code == 201
    gone, kept = Photo.objects.order_by("id")
    s3.refuse()

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(photos_url(activity.pk, gone.pk))

    assert response.status_code == 204
    assert not Photo.objects.filter(pk=gone.pk).exists()
    assert s3.bucket_names() == names_of(gone, kept)  # S3 was unreachable: nothing could go yet
    assert pending_names() == names_of(gone)
    assert all(deletion.storage == "default" for deletion in pending())

    s3.heal()
    out = io.StringIO()
    call_command("cleanup_exports", stdout=out)  # what the daily ECS scheduled task runs

    assert s3.bucket_names() == names_of(kept)
    assert pending_names() == []
    assert "Stored files pending deletion: 2 deleted, 0 failed, 0 left." in out.getvalue()


def test_account_deleted_while_s3_refuses_leaves_no_orphan_once_the_sweep_task_ran(
    s3, auth_client, user, other_user, django_capture_on_commit_callbacks
):
    mine = [PhotoFactory(activity=ActivityFactory(user=user)) for _ in range(2)]
    report = ExportJobFactory(user=user, completed=True)
    theirs = PhotoFactory(activity=ActivityFactory(user=other_user))
    my_names = sorted([*names_of(*mine), report.file.name])
    s3.refuse()

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/users/me", {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    assert not Activity.objects.filter(user_id=user.pk).exists()
    assert not ExportJob.objects.filter(user_id=user.pk).exists()
    assert s3.bucket_names() == sorted([*my_names, *names_of(theirs)])
    assert pending_names() == my_names

    s3.heal()
    result = current_app.tasks[SWEEP_TASK].apply().get()

    assert result == {"deleted": 5, "failed": 0, "left": 0}
    assert s3.bucket_names() == names_of(theirs)
    assert pending_names() == []


def test_the_sweep_during_the_outage_keeps_every_record_and_stops_at_the_first_failure(
    s3, django_capture_on_commit_callbacks
):
    photos = [PhotoFactory() for _ in range(2)]
    s3.refuse()
    with django_capture_on_commit_callbacks(execute=True):
        Photo.objects.filter(pk__in=[p.pk for p in photos]).delete()
    before = {d.pk: d.attempts for d in pending()}
    assert len(before) == 4

    result = current_app.tasks[SWEEP_TASK].apply().get()

    assert result == {"deleted": 0, "failed": 1, "left": 4}  # one try shows S3 is still down
    after = pending()
    assert sorted(d.attempts - before[d.pk] for d in after) == [0, 0, 0, 1]
    tried = max(after, key=lambda d: d.attempts - before[d.pk])
    assert tried.last_error and tried.last_attempt_at is not None
    assert s3.bucket_names() == names_of(*photos)

    s3.heal()
    out = io.StringIO()
    call_command("sweep_stored_files", stdout=out)

    assert out.getvalue() == "Stored files pending deletion: 4 deleted, 0 failed, 0 left.\n"
    assert s3.bucket_names() == [] and pending_names() == []


def test_a_hung_s3_costs_a_deletion_one_call_not_one_per_object(s3, auth_client, user,
                                                               django_capture_on_commit_callbacks):
    """Account deletion with 3 photos (6 objects) while S3 accepts connections but never answers:
    after the first timed-out call, the other objects are recorded without trying them."""
    photos = [PhotoFactory(activity=ActivityFactory(user=user)) for _ in range(3)]
    s3.stall()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete("/api/v1/users/me", {"password": DEFAULT_PASSWORD}, format="json")
    elapsed = time.monotonic() - started

    assert response.status_code == 204
    assert elapsed < FAST_CALL + 1, f"{elapsed:.1f} s"
    assert pending_names() == names_of(*photos)
    assert sorted(deletion.attempts for deletion in pending()) == [0, 0, 0, 0, 0, 1]  # one object was tried

    s3.heal()
    assert current_app.tasks[SWEEP_TASK].apply().get()["deleted"] == 6
    assert s3.bucket_names() == []


def test_deletion_on_a_healthy_s3_leaves_no_record(s3, django_capture_on_commit_callbacks):
    photo = PhotoFactory()
    with django_capture_on_commit_callbacks(execute=True):
        photo.delete()
    assert s3.bucket_names() == []
    assert pending_names() == []


def test_the_admin_shows_pending_deletions_read_only_and_can_retry_them(s3, admin_client,
                                                                        django_capture_on_commit_callbacks):
    photo = PhotoFactory()
    s3.refuse()
    with django_capture_on_commit_callbacks(execute=True):
        photo.delete()
    url = reverse("admin:activities_storedfiledeletion_changelist")

    page = admin_client.get(url)
    assert page.status_code == 200
    assert photo.image.name in page.content.decode() and photo.thumbnail.name in page.content.decode()
    assert "delete_selected" not in page.content.decode()  # removing a record would orphan its object
    delete_page = reverse("admin:activities_storedfiledeletion_delete", args=[pending()[0].pk])
    assert admin_client.get(delete_page).status_code == 403

    s3.heal()
    ids = [str(deletion.pk) for deletion in pending()]
    response = admin_client.post(url, {"action": "delete_now", "_selected_action": ids}, follow=True)

    assert "2 deleted, 0 failed, 0 not tried." in response.content.decode()
    assert pending_names() == [] and s3.bucket_names() == []


# --- uploads against a hung S3: a 503 problem within the deadline ----------------------------------


def test_upload_against_a_stalled_s3_is_a_503_within_the_deadline(s3, auth_client, user):
    activity = ActivityFactory(user=user)
    s3.stall()

    started = time.monotonic()
    response = auth_client.post(photos_url(activity.pk), {"photos": [jpeg(), png()]}, format="multipart")
    elapsed = time.monotonic() - started

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://activelog.dev/problems/service-unavailable"
    assert int(response["Retry-After"]) > 0
    assert FAST["read_timeout"] <= elapsed < FAST_CALL + 1, f"{elapsed:.1f} s"  # the first call (HEAD) hung
    assert not Photo.objects.exists()

    s3.heal()
    current_app.tasks[SWEEP_TASK].apply().get()
    assert s3.bucket_names() == []


def test_upload_that_stalls_midway_is_answered_after_one_timed_out_call(s3, auth_client, user, monkeypatch):
    """The image is stored, then S3 hangs during the thumbnail's PUT: the 503 comes after that one
    timed-out call. Both keys are recorded for the sweep instead of waiting for a second timeout:
    the image, and the thumbnail, whose write may have completed in S3 all the same."""
    from storages.backends.s3 import S3Storage

    activity = ActivityFactory(user=user)
    real_save, names = S3Storage._save, []

    def save_then_stall(self, name, content):
        if names:
            s3.stall()
        names.append(name)
        return real_save(self, name, content)

    monkeypatch.setattr(S3Storage, "_save", save_then_stall)
    started = time.monotonic()
    response = auth_client.post(photos_url(activity.pk), {"photos": [jpeg()]}, format="multipart")
    elapsed = time.monotonic() - started

    assert response.status_code == 503, response.content
    assert elapsed < FAST_UPLOAD_CALL + 0.5, f"{elapsed:.1f} s"  # the PUT timed out; no DELETE waited after it
    assert not Photo.objects.exists()
    assert pending_names() == sorted(names)
    assert [deletion.attempts for deletion in pending()] == [0, 0]

    s3.refuse()  # the network drops the held PUTs (delivered late, they could land after the sweep)
    s3.heal()
    current_app.tasks[SWEEP_TASK].apply().get()
    assert s3.bucket_names() == [] and pending_names() == []


def test_links_are_signed_without_asking_s3(s3, auth_client, user):
    photo = PhotoFactory(activity=ActivityFactory(user=user))
    s3.stall()

    started = time.monotonic()
    response = auth_client.get(photos_url(photo.activity_id))

    assert response.status_code == 200
    elapsed = time.monotonic() - started
    assert elapsed < 1
    (listed,) = response.json()["photos"]
    assert "X-Amz-Signature=" in listed["url"] and "X-Amz-Expires=3600" in listed["url"]


# --- the production deadlines --------------------------------------------------------------------


def client_config(storage: dict):
    return storage["OPTIONS"]["client_config"]


def test_default_deadlines_fail_an_s3_call_well_inside_the_load_balancer_timeout():
    from botocore.retries.standard import ExponentialBackoff

    config = client_config(s3_storage(bucket="b", region="eu-west-1", endpoint_url=None))
    attempts = config.retries["total_max_attempts"]
    per_call = worst_call(config.connect_timeout, config.read_timeout, attempts, upload=True)
    # A retry waits at most the backoff cap of botocore's standard mode, whatever the error.
    worst = per_call + (attempts - 1) * ExponentialBackoff._MAX_BACKOFF

    assert (config.connect_timeout, config.read_timeout, attempts) == (3, 10, 2)
    assert per_call == 28
    assert worst == 48 < ALB_IDLE_TIMEOUT
    assert config.retries["mode"] == "standard"


def test_deadlines_come_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "c = settings.STORAGES['default']['OPTIONS']['client_config']; "
        "print(c.connect_timeout, c.read_timeout, c.retries['total_max_attempts'], c.s3, c.signature_version)"
    )
    env = clean_env(DJANGO_SETTINGS_MODULE="activelog.settings", AWS_STORAGE_BUCKET_NAME="media",
                    AWS_S3_ENDPOINT_URL="http://127.0.0.1:9", AWS_S3_CONNECT_TIMEOUT="1.5",
                    AWS_S3_READ_TIMEOUT="4", AWS_S3_MAX_ATTEMPTS="3")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "1.5 4.0 3 {'addressing_style': 'path'} s3v4"


def test_a_10_mb_object_uploads_with_the_default_deadlines(s3_media, s3_endpoint, settings):
    """The read timeout bounds a silent S3, not a long transfer: 10 MB (a multipart upload) goes
    through the proxy with the production defaults."""
    upstream = urlparse(s3_endpoint)
    with FaultyProxy(upstream.hostname, upstream.port) as proxy:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_storage(bucket=s3_media.bucket, region="us-east-1",
                                  endpoint_url=f"http://127.0.0.1:{proxy.port}"),
        }
        data = os.urandom(10 * 1024 * 1024)
        name = default_storage.save("exports/big/report.pdf", ContentFile(data))

        head = s3_media.head_object(Bucket=s3_media.bucket, Key=name)
        assert head["ContentLength"] == len(data)


def test_the_sweep_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-stored-files"]
    assert schedule["task"] == SWEEP_TASK and SWEEP_TASK in current_app.tasks
    assert schedule["schedule"] <= 60 * 60
