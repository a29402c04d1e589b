"""Background tasks (Celery): a Redis broker through CELERY_BROKER_URL, else tasks run inline."""

from activelog.settings.environment import env

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker (the embedded default): run tasks inline, so reports work without a worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the database
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: don't hoard messages
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the hard time limit, or Redis re-delivers a task that is still running.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 300,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = "activelog"
CELERY_BEAT_SCHEDULE = {
    "cleanup-expired-exports": {"task": "activities.tasks.cleanup_expired_exports", "schedule": 60 * 60},
    # Stored objects whose deletion failed (S3 down): retried until they are gone (activities.files).
    "sweep-stored-files": {"task": "activities.tasks.sweep_stored_files", "schedule": 15 * 60},
}
