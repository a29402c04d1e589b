"""Report jobs: create and queue, run (in the worker), clean up. Job state lives in the database.

Jobs are queued by task name (``RENDER_REPORT_TASK``), not by importing the task: the task module
imports this one, and the name is what a queued message carries anyway.
"""

import datetime as dt
import logging
import uuid

from botocore.exceptions import BotoCoreError, ClientError
from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import User
from activelog import metrics
from activelog.errors import DependencyUnavailable
from activelog.observability import end_failed_publish_span, span
from activities import rules
from activities.exports.rendering import render_pdf
from activities.models import ExportJob

logger = logging.getLogger(__name__)
Status = ExportJob.Status
RENDER_REPORT_TASK = "activities.tasks.render_report"
MAX_REPORT_PERIOD = dt.timedelta(days=366 * 5)


def _transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        code = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code >= 500 or exc.response.get("Error", {}).get("Code") in {"SlowDown", "RequestTimeout"}
    return isinstance(exc, (BotoCoreError, OSError))


def export_job_create(*, user: User, start: dt.date, end: dt.date) -> ExportJob:
    """Create a PDF job of the local days start..end and queue it. If the queue cannot take it,
    the job fails and ``DependencyUnavailable`` is raised (nothing is left pending forever)."""
    rules.validate_period_order(start, end)
    if end - start > MAX_REPORT_PERIOD:
        raise ValidationError({"start_date": ["A report covers at most 5 years."]})
    job = ExportJob.objects.create(user=user, start_date=start, end_date=end)
    metrics.EXPORTS_REQUESTED.labels(format=job.format).inc()
    task = current_app.tasks[RENDER_REPORT_TASK]
    task_id = str(uuid.uuid4())
    try:
        task.apply_async(
            args=[str(job.pk)],
            task_id=task_id,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except Exception as exc:  # broker unreachable
        end_failed_publish_span(task, task_id, exc)
        logger.warning("Could not queue report job %s: %s", job.pk, type(exc).__name__)
        _fail(job.pk, "The report could not be queued. Try again in a minute.")
        raise DependencyUnavailable("The report queue is unavailable. Try again in a minute.", retry_after=60) from None
    job.refresh_from_db()
    return job


def _progress(job_id, percent: int) -> None:
    ExportJob.objects.filter(pk=job_id, status=Status.PROCESSING).update(progress=max(0, min(99, percent)))


def _fail(job_id, message: str) -> None:
    updated = ExportJob.objects.filter(pk=job_id).exclude(status=Status.FAILED).update(
        status=Status.FAILED, error_message=message[:500], completed_at=timezone.now()
    )
    if updated:
        metrics.EXPORTS_FAILED.labels(format=ExportJob.Format.PDF).inc()


def report_key(job: ExportJob) -> str:
    return f"exports/{job.user_id}/{job.pk}/activelog-report-{job.start_date:%Y%m%d}-{job.end_date:%Y%m%d}.pdf"


def export_job_run(*, job_id: str, final_attempt: bool = True) -> ExportJob | None:
    """Render, upload and complete one job. Idempotent: a finished job is left alone, and a
    retried attempt replaces whatever a previous attempt uploaded."""
    with span("report.render", job__id=str(job_id)) as current:
        job = _export_job_run(job_id=job_id, final_attempt=final_attempt)
        if job is not None:
            current.set_attribute("user.id", job.user_id)
            current.set_attribute("report.status", job.status)
        return job


def _export_job_run(*, job_id: str, final_attempt: bool) -> ExportJob | None:
    job = ExportJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or job.status in (Status.COMPLETED, Status.FAILED):
        return job
    ExportJob.objects.filter(pk=job.pk).update(status=Status.PROCESSING, progress=5, started_at=timezone.now())
    try:
        pdf, count = render_pdf(user=job.user, start=job.start_date, end=job.end_date,
                                progress=lambda pct: _progress(job.pk, pct))
    except SoftTimeLimitExceeded:
        _fail(job.pk, "The report took too long to render. Try a shorter period.")
        return job
    except Exception:
        logger.exception("Rendering report job %s failed", job.pk)
        _fail(job.pk, "The report could not be rendered. The error was logged; try again or contact support.")
        return job

    key = report_key(job)
    try:
        if default_storage.exists(key):  # left by an earlier attempt
            default_storage.delete(key)
        stored = default_storage.save(key, ContentFile(pdf))
    except Exception as exc:
        if _transient(exc) and not final_attempt:
            _progress(job.pk, 90)
            raise DependencyUnavailable(str(exc)) from exc  # the task retries with backoff
        logger.warning("Storing report job %s failed: %s", job.pk, type(exc).__name__)
        _fail(job.pk, "The report could not be stored. Try again later.")
        return job
    _progress(job.pk, 95)
    try:
        ExportJob.objects.filter(pk=job.pk).update(
            status=Status.COMPLETED, progress=100, file=stored, file_size=len(pdf), record_count=count,
            completed_at=timezone.now(), error_message="",
        )
    except DatabaseError:
        default_storage.delete(stored)  # no object without a row pointing at it
        raise
    metrics.EXPORTS_COMPLETED.labels(format=job.format).inc()
    logger.info("Report job %s completed: %d activities, %d bytes", job.pk, count, len(pdf))
    job.refresh_from_db()
    return job


def export_jobs_cleanup(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete expired jobs and their files; returns (jobs deleted, files deleted)."""
    now = now or timezone.now()
    deleted_jobs = deleted_files = 0
    for job in ExportJob.objects.filter(expires_at__lt=now).only("pk", "user_id", "file").iterator():
        if job.file:
            try:
                default_storage.delete(job.file.name)
            except Exception as exc:
                logger.warning("Could not delete expired export %s: %s", job.file.name, type(exc).__name__)
                continue  # keep the row: the next run tries again
            deleted_files += 1
            job.file = ""  # removed already; nothing left for the deletion receiver to do
        job.delete()
        deleted_jobs += 1
    return deleted_jobs, deleted_files
