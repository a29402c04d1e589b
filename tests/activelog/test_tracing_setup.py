"""Which calls get spans, decided by the standard OTEL_* variables at process set-up: a fresh
Python process configures tracing like a gunicorn worker, then talks to the real PostgreSQL and
Redis and reports the spans its tracer provider ended."""

import json
import subprocess
import sys

import pytest

from tests.support.servers import PRODUCTION_ENV, ROOT, Gunicorn, clean_env, closed_port, otlp_receiver

PROBE = """
import json, django, psycopg, redis
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from activelog.observability import configure_process
configure_process("web")
django.setup()
from django.conf import settings
provider = trace.get_tracer_provider()
memory = InMemorySpanExporter()
if hasattr(provider, "add_span_processor"):
    provider.add_span_processor(SimpleSpanProcessor(memory))
redis.Redis.from_url("redis://127.0.0.1:6379/13").ping()
with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as connection:
    connection.execute("SELECT 1").fetchone()
print("SPANS " + json.dumps({"spans": sorted(span.name for span in memory.get_finished_spans()),
                  "django_middleware": any("opentelemetry" in m for m in settings.MIDDLEWARE)}))
"""


def spans_of_a_process(**environment):
    env = clean_env(DJANGO_SETTINGS_MODULE="activelog.settings", LOG_LEVEL="ERROR", **environment)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr, json.loads(next(line for line in result.stdout.splitlines() if line.startswith("SPANS "))[6:])


@pytest.fixture(scope="module")
def endpoint():
    with otlp_receiver() as (url, _):
        yield url


def test_every_instrumentation_is_on_by_default(endpoint):
    _, seen = spans_of_a_process(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
    assert seen == {"spans": ["PING", "SELECT"], "django_middleware": True}


def test_disabled_instrumentations_leave_their_calls_untraced(endpoint):
    errors, seen = spans_of_a_process(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
                                      OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="redis, django")
    assert seen == {"spans": ["SELECT"], "django_middleware": False}
    assert "unknown instrumentations" not in errors


def test_a_misspelt_instrumentation_is_reported_and_the_rest_stay_on(endpoint):
    errors, seen = spans_of_a_process(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
                                      OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="postgres,redis")
    assert seen == {"spans": ["SELECT"], "django_middleware": True}
    assert "unknown instrumentations postgres; known: django, psycopg, redis, botocore, celery" in errors


def test_no_endpoint_means_no_tracing_at_all():
    _, seen = spans_of_a_process()
    assert seen == {"spans": [], "django_middleware": False}


def test_under_gunicorn_the_set_up_warning_is_a_json_line_on_stdout(endpoint, served_database_url):
    # Tracing is configured in gunicorn's post_fork hook, before the worker loads the app.
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=served_database_url, REDIS_URL="redis://127.0.0.1:6379/13",
                    OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="postgres")
    with Gunicorn(env, workers=1) as server:
        pass
    warnings = [json.loads(line) for line in server.lines() if "unknown instrumentations" in line]
    assert len(warnings) == 1, server.lines()
    assert warnings[0]["level"] == "WARNING"
    assert warnings[0]["logger"] == "activelog.observability"


BROKER_DOWN_PROBE = """
import datetime as dt, json, uuid, django
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from activelog.observability import configure_process
configure_process("web")
django.setup()
from accounts.models import User
from activelog.errors import DependencyUnavailable
from activities.exports.services import export_job_create
memory = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))
name = f"broker-down-{uuid.uuid4().hex[:12]}"
user = User.objects.create_user(name, email=f"{name}@example.com", password="x" * 20)
tracer = trace.get_tracer("probe")
with tracer.start_as_current_span("request") as request:
    try:
        export_job_create(user=user, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
        raise SystemExit("the export was queued although the broker is down")
    except DependencyUnavailable:
        pass
    current_after_failure = trace.get_current_span().get_span_context().span_id
    with tracer.start_as_current_span("after"):
        pass
print("SPANS " + json.dumps({
    "request": request.get_span_context().span_id,
    "current_after_failure": current_after_failure,
    "finished": [{"name": s.name, "id": s.context.span_id, "parent": s.parent.span_id if s.parent else None,
                  "status": s.status.status_code.name} for s in memory.get_finished_spans()],
}))
"""


def test_a_publish_to_an_unreachable_broker_ends_its_span_and_restores_the_context(endpoint, served_database_url):
    env = clean_env(DJANGO_SETTINGS_MODULE="activelog.settings", LOG_LEVEL="ERROR",
                    OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, DATABASE_URL=served_database_url, CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0")
    result = subprocess.run([sys.executable, "-c", BROKER_DOWN_PROBE], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("SPANS "))[6:])
    spans = {span["name"]: span for span in seen["finished"]}
    publish = spans["apply_async/activities.tasks.render_report"]
    assert publish["status"] == "ERROR"
    assert publish["parent"] == seen["request"]
    # Nothing later hangs below the failed publish: the request span is current again.
    assert seen["current_after_failure"] == seen["request"]
    assert spans["after"]["parent"] == seen["request"]
    assert spans["request"]["parent"] is None
