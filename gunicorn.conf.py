"""gunicorn settings for ActiveLog on ECS Fargate (0.25-1 vCPU tasks behind an ALB).

Every value can be overridden from the environment; the comments say why each default is what
it is. Started as PID 1 by the image's CMD: `gunicorn -c gunicorn.conf.py activelog.wsgi`.
"""

import os
import tempfile

from activelog.logging import gunicorn_logging_config

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
# prometheus_client's multiprocess mode: every worker writes its samples here and /metrics adds
# them up. It must be in the environment before any worker imports prometheus_client; the
# directory itself is made (and emptied) by the master's bootstrap in on_starting.
PROMETHEUS_MULTIPROC_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "activelog-prometheus")
)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Fargate gives the task its own IP (awsvpc); the ALB target group and the health check use 8080.
bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"

# gthread: threads overlap the I/O waits on PostgreSQL/Redis/S3 that dominate a request, and use
# far less memory than more processes. Two processes survive one crashing and suit 0.25-1 vCPU;
# raise GUNICORN_WORKERS with the task's vCPUs. Keep DATABASE_POOL_MAX_SIZE >= threads.
# The balanced variant (activelog/gunicorn_worker.py) lets an idle worker take new connections
# while this one's threads are all busy: with plain gthread one worker held 88-100% of 16
# keep-alive clients and the other core idled. GUNICORN_WORKER_CLASS=gthread restores gunicorn's.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "activelog.gunicorn_worker.BalancedThreadWorker")
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)

# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, in-flight requests get this long to finish. It must stay below the ECS container
# stopTimeout (40 s in the task definition), or ECS SIGKILLs the task mid-request.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than the ALB's 60 s idle timeout, so the ALB always closes idle connections first;
# otherwise it can reuse a connection gunicorn just closed and the client sees a 502.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# Recycle workers now and then (a bound on memory growth), with jitter so they don't restart
# together. Rarely: a recycle costs a full worker boot (about a second of CPU, Django and the app
# imported again) and drops the worker's keep-alive connections onto the other worker. At 1,000
# requests it cost half the throughput under load (bench/load.py: /health/live 1,940 -> 5,596
# req/s, detail 171 -> 343, p99 235 -> 14 ms without recycling); at 50,000 the liveness run of
# bench/load.py (3,000+ requests a second) still recycled both workers and piled every client on
# one (3,047 req/s). At 200,000 a worker serving 500 requests a second boots every ~7 minutes.
# Memory: master + 2 workers stayed at 224-279 MiB of the task's 512 MiB through three rounds of
# the load run (over 300,000 requests per worker between recycles).
max_requests = _int("GUNICORN_MAX_REQUESTS", 200000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 20000)

# The app is imported in each worker after fork: no database pool, OTel exporter or boto3 client
# is ever opened in the master and shared across processes.
preload_app = False

# The heartbeat file goes to /tmp, the task's writable volume (the root filesystem is read-only).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/tmp")  # noqa: S108

# No control socket: nothing in the container should be able to reconfigure the server.
control_socket_disable = True

# The app writes one structured line per request itself; gunicorn's own access log would repeat
# it. gunicorn's lifecycle messages are JSON lines on stdout like the app's (activelog/logging.py).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = gunicorn_logging_config(level=loglevel, access_log=bool(accesslog))
logger_class = "activelog.logging.GunicornLogger"  # builds no access line when there is no access log


# --- Hooks -----------------------------------------------------------------------------------


def on_starting(server):
    """Master start: an empty metrics directory (samples of a previous run's workers must not be
    added to this one's), and nothing that a fork would share (activelog/bootstrap.py)."""
    from activelog.bootstrap import bootstrap_process

    bootstrap_process("gunicorn")


def post_fork(server, worker):
    """In each worker, before the app loads: tracing exporters and the CloudWatch handler belong
    to this process only."""
    from activelog.bootstrap import bootstrap_process

    bootstrap_process("web")


def post_worker_init(worker):
    """The app is loaded in this worker: import the views now, not on the first request, and
    freeze the start-up objects out of garbage collection (activelog/warmup.py)."""
    from activelog.warmup import freeze_loaded_objects

    freeze_loaded_objects("web")


def worker_exit(server, worker):
    """Flush buffered spans and log records within the graceful shutdown."""
    from activelog.bootstrap import shutdown_process

    shutdown_process()


def child_exit(server, worker):
    """The master drops a dead worker's live gauges and folds its counters and histograms into
    the archive files, so scrapes stay as cheap after a thousand recycles as after none
    (activelog/multiprocess.py)."""
    from activelog.multiprocess import retire_process

    retire_process(worker.pid, PROMETHEUS_MULTIPROC_DIR)
