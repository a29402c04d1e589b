"""Report job services and selectors called directly (the worker and the clean-up task do)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from activelog.errors import Conflict, DependencyUnavailable, NotFound
from activities.exports import selectors, services
from activities.exports.rendering import render_pdf
from activities.models import ExportJob
from tests.support.celery import broker_at
from tests.support.factories import ActivityFactory, ExportJobFactory
from tests.support.servers import closed_port

pytestmark = pytest.mark.django_db


def test_a_report_covers_at_most_five_years(user):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        services.export_job_create(user=user, start=today - dt.timedelta(days=366 * 5 + 1), end=today)
    assert refused.value.message_dict == {"start_date": ["A report covers at most 5 years."]}
    assert not ExportJob.objects.exists()


def test_a_period_must_not_end_before_it_starts(user):
    today = timezone.localdate()
    with pytest.raises(ValidationError):
        services.export_job_create(user=user, start=today, end=today - dt.timedelta(days=1))


def test_create_runs_the_job_inline_without_a_broker(user):
    today = timezone.localdate()
    job = services.export_job_create(user=user, start=today - dt.timedelta(days=6), end=today)
    assert job.status == ExportJob.Status.COMPLETED
    assert default_storage.exists(job.file.name)


def test_an_unreachable_queue_fails_the_job_and_says_when_to_retry(user):
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"), pytest.raises(DependencyUnavailable) as refused:
        services.export_job_create(user=user, start=timezone.localdate(), end=timezone.localdate())
    assert refused.value.retry_after == 60
    assert ExportJob.objects.get(user=user).status == ExportJob.Status.FAILED


def test_a_pending_or_failed_job_cannot_be_downloaded(user):
    pending = ExportJobFactory(user=user)
    failed = ExportJobFactory(user=user, status=ExportJob.Status.FAILED, error_message="render error")

    with pytest.raises(Conflict, match=r"not ready yet \(pending, 0%\)"):
        selectors.export_job_get_finished(user=user, job_id=pending.pk)
    with pytest.raises(Conflict, match="render error"):
        selectors.export_job_get_finished(user=user, job_id=failed.pk)


def test_another_users_job_is_not_found(user, other_user):
    theirs = ExportJobFactory(user=other_user, completed=True)
    with pytest.raises(NotFound):
        selectors.export_job_get(user=user, job_id=theirs.pk)
    assert selectors.export_job_get_finished(user=other_user, job_id=theirs.pk) == theirs


def test_cleanup_deletes_expired_jobs_with_their_files_and_keeps_the_rest(user, django_capture_on_commit_callbacks):
    expired = ExportJobFactory(user=user, completed=True, expires_at=timezone.now() - dt.timedelta(minutes=1))
    kept = ExportJobFactory(user=user, completed=True)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.export_jobs_cleanup() == (1, 1)

    assert not default_storage.exists(expired.file.name)
    assert default_storage.exists(kept.file.name)
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [kept.pk]


def test_the_pdf_report_is_in_the_persons_units(user):
    user.units = "imperial"
    user.save(update_fields=["units"])
    ActivityFactory(user=user, distance_km=Decimal("16.09"), duration_minutes=80,
                    activity_date=timezone.now() - dt.timedelta(hours=2))
    pdf, count = render_pdf(user=user, start=timezone.localdate() - dt.timedelta(days=6), end=timezone.localdate())

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert count == 1
    assert "Distance (mi)" in text and "10.00" in text and "min/mi" in text and "8:00" in text
    assert "Distance per week (mi)" in text
