"""Report tasks, run by the Celery worker. Thin: the work is in activities.exports.services.

The names are explicit and stable: queued messages refer to them, so they must keep working
across a rolling deploy whatever module the code lives in.
"""

from celery import shared_task

from activelog.errors import DependencyUnavailable
from activities.exports.services import RENDER_REPORT_TASK, export_job_run, export_jobs_cleanup


@shared_task(
    name=RENDER_REPORT_TASK,
    bind=True,
    acks_late=True,
    autoretry_for=(DependencyUnavailable,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=3,
)
def render_report(self, job_id: str) -> None:
    export_job_run(job_id=job_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task(name="activities.tasks.cleanup_expired_exports")
def cleanup_expired_exports() -> dict:
    jobs, files = export_jobs_cleanup()
    return {"jobs": jobs, "files": files}
