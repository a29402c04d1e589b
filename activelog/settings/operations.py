"""Running it: /metrics, /health, and the servers' garbage-collector freeze."""

from activelog.settings.environment import env

# /metrics requires "Authorization: Bearer <METRICS_TOKEN>" when set (it is never routed by the
# public load balancer either).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
PROMETHEUS_EXPORT_MIGRATIONS = False  # no database access at start-up

HEALTH_PROBE_TIMEOUT = env.float("HEALTH_PROBE_TIMEOUT", default=1.0)
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=5.0)
# Ask the EC2 instance metadata service for the instance id (only meaningful on EC2; on Fargate
# the ECS task metadata endpoint is used automatically).
HEALTH_EC2_METADATA = env.bool("HEALTH_EC2_METADATA", default=False)

# gunicorn and Celery workers freeze their start-up objects out of garbage collection once the
# app is loaded (activelog/warmup.py).
GC_FREEZE = env.bool("GC_FREEZE", default=True)
