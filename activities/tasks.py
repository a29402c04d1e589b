"""Celery entry points: the tasks live in their areas, under the names that queued messages refer
to (``activities.tasks.*``), so messages survive a rolling deploy. The core's own task, the sweep
of stored files left behind by deletions (``activities.files``), is defined here."""

from celery import shared_task

from activities.exports.tasks import cleanup_expired_exports, render_report
from activities.files import stored_file_deletions_sweep

SWEEP_STORED_FILES_TASK = "activities.tasks.sweep_stored_files"
# Inside the soft time limit (CELERY_TASK_SOFT_TIME_LIMIT, 240 s): what is left waits for the next run.
SWEEP_MAX_SECONDS = 180


@shared_task(name=SWEEP_STORED_FILES_TASK)
def sweep_stored_files() -> dict:
    return stored_file_deletions_sweep(max_seconds=SWEEP_MAX_SECONDS)


__all__ = ["cleanup_expired_exports", "render_report", "sweep_stored_files"]
