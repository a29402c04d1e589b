"""Celery tasks. Thin: the work is in activities.export_services."""

from celery import shared_task

from activities.export_services import StorageUnavailable, export_job_run, export_jobs_cleanup


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(StorageUnavailable,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=3,
)
def render_report(self, job_id: str) -> None:
    export_job_run(job_id=job_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task
def cleanup_expired_exports() -> dict:
    jobs, files = export_jobs_cleanup()
    return {"jobs": jobs, "files": files}
