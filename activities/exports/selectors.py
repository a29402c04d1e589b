"""Reads of report jobs and of the activities an export contains: always scoped to the owner."""

import uuid
from collections.abc import Mapping

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from activelog.errors import Conflict, NotFound
from activities import selectors as activity_selectors
from activities.models import Activity, ExportJob


def export_job_list(*, user: User) -> QuerySet[ExportJob]:
    """The user's report jobs, newest first."""
    return ExportJob.objects.filter(user=user).order_by("-created_at")


def export_job_get(*, user: User, job_id: uuid.UUID | str) -> ExportJob:
    job = ExportJob.objects.filter(user=user, pk=job_id).first()
    if job is None:
        raise NotFound("No export job with this id.")
    return job


def export_job_get_finished(*, user: User, job_id: uuid.UUID | str) -> ExportJob:
    """A job whose report can be downloaded; a job that is still running or failed is a
    ``Conflict`` that says why."""
    job = export_job_get(user=user, job_id=job_id)
    if job.status != ExportJob.Status.COMPLETED or not job.file:
        if job.status == ExportJob.Status.FAILED:
            raise Conflict(f"This report failed and has no file: {job.error_message}")
        raise Conflict(f"The report is not ready yet ({job.status}, {job.progress}%).")
    return job


# List parameters that do not apply to an export: deleted activities are never exported (API.md
# §1), and a CSV is always in date order, oldest first.
CSV_IGNORED_FILTERS = ("include_deleted", "ordering")


def activities_for_csv(*, user: User, filters: Mapping | None = None) -> QuerySet[Activity]:
    """What a CSV export contains: the user's live activities with the list's filters, oldest first
    (then by id). ``include_deleted`` and ``ordering`` are ignored, like unknown parameters."""
    if hasattr(filters, "getlist"):  # a query string (QueryDict): keep its repeated parameters
        wanted = filters.copy()
        for name in CSV_IGNORED_FILTERS:
            wanted.pop(name, None)
    else:
        wanted = {name: value for name, value in (filters or {}).items() if name not in CSV_IGNORED_FILTERS}
    return activity_selectors.activity_filter(user=user, filters=wanted).order_by("activity_date", "id")


def export_queue() -> dict:
    """Every user's jobs not finished yet, for monitoring: how many per state, and the age in
    seconds of the oldest one still waiting for a worker (0 when none waits). One query over the
    jobs table, which holds at most a week of jobs (``ExportJob.EXPIRES_AFTER``)."""
    waiting = ExportJob.objects.filter(status__in=[ExportJob.Status.PENDING, ExportJob.Status.PROCESSING])
    summary = waiting.aggregate(
        pending=Count("pk", filter=Q(status=ExportJob.Status.PENDING)),
        processing=Count("pk", filter=Q(status=ExportJob.Status.PROCESSING)),
        oldest=Min("created_at", filter=Q(status=ExportJob.Status.PENDING)),
    )
    oldest = summary.pop("oldest")
    summary["oldest_pending_age_seconds"] = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    return summary
