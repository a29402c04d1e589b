"""Per-process OpenTelemetry tracing, and spans for the app's own work.

configure_process() runs once per process AFTER fork (activelog/bootstrap.py: gunicorn's post_fork
hook, Celery's worker_process_init, manage.py), so no exporter thread or socket is ever shared
between processes. Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set and
OTEL_SDK_DISABLED is not true; the standard OTEL_* variables (service name, resource attributes,
sampler, batch settings) apply, and OTEL_PYTHON_DISABLED_INSTRUMENTATIONS leaves named
instrumentations out. OTEL_AWS_XRAY=true switches to X-Ray trace ids and propagation.
"""

import logging
import os
import threading

from activelog.runtime import app_version, host_name

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_configured_pid: int | None = None
_tracer_provider = None

DEFAULT_SERVICE_NAMES = {"web": "activelog-web", "worker": "activelog-worker"}


def tracing_enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_process(role: str = "web") -> None:
    """Idempotent per process: safe to call from several entry points."""
    global _configured_pid
    with _lock:
        if _configured_pid == os.getpid():
            return
        _configured_pid = os.getpid()
    if tracing_enabled():
        try:
            _configure_tracing(role)
        except Exception:  # telemetry must never stop the app from serving
            logger.exception("Tracing could not be configured; continuing without it")


def _configure_tracing(role: str) -> None:
    global _tracer_provider
    from opentelemetry import propagate, trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    os.environ.setdefault("OTEL_SERVICE_NAME", DEFAULT_SERVICE_NAMES.get(role, "activelog"))
    # Resource.create() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; ours come first as
    # defaults, so the environment can override them.
    resource = Resource.create({
        "service.version": app_version(),
        "service.instance.id": f"{host_name()}-{os.getpid()}",
        "deployment.environment.name": os.environ.get("DJANGO_ENV", "development"),
    })
    provider_kwargs = {"resource": resource}
    if os.environ.get("OTEL_AWS_XRAY", "").strip().lower() == "true":
        from opentelemetry.propagators.aws import AwsXRayPropagator
        from opentelemetry.propagators.composite import CompositePropagator
        from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        provider_kwargs["id_generator"] = AwsXRayIdGenerator()
        propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), AwsXRayPropagator()]))
    provider = TracerProvider(**provider_kwargs)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracer_provider = provider

    # The standard variable of OpenTelemetry's auto-instrumentation, honoured here too.
    names = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")
    disabled = {name.strip() for name in names if name.strip()}
    instrumentors = {"django": (DjangoInstrumentor, {}), "psycopg": (PsycopgInstrumentor, {"skip_dep_check": True}),
                     "redis": (RedisInstrumentor, {}), "botocore": (BotocoreInstrumentor, {}),
                     "celery": (CeleryInstrumentor, {})}
    if unknown := sorted(disabled - set(instrumentors)):
        logger.warning("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS names unknown instrumentations %s; known: %s",
                       ", ".join(unknown), ", ".join(instrumentors))
    for name, (instrumentor, options) in instrumentors.items():
        if name not in disabled:
            instrumentor().instrument(tracer_provider=provider, **options)
    if "django" not in disabled:
        _keep_operations_paths_first()


def _keep_operations_paths_first() -> None:
    """DjangoInstrumentor puts its middleware first. /health, /health/live and /metrics must stay
    ahead of it: they are answered before host validation (the tracing middleware builds the
    absolute URL, which validates the Host) and are never traced."""
    from django.conf import settings

    middleware = list(settings.MIDDLEWARE)
    first = [m for m in ("activelog.middleware.RequestIDMiddleware", "health.middleware.HealthCheckMiddleware")
             if m in middleware]
    settings.MIDDLEWARE = first + [m for m in middleware if m not in first]


def shutdown_tracing() -> None:
    """Export the spans still buffered before the process exits."""
    if _tracer_provider is not None:
        try:
            _tracer_provider.shutdown()
        except Exception:  # never block an exit
            logger.exception("Flushing spans failed")


def span(name: str, **attributes):
    """A span for a unit of the app's own work (a no-op when tracing is off). Exceptions raised
    inside are recorded on the span and set its status to error."""
    from opentelemetry import trace

    clean = {key.replace("__", "."): value for key, value in attributes.items() if value is not None}
    return trace.get_tracer("activelog").start_as_current_span(name, attributes=clean)


def end_failed_publish_span(task, task_id: str, exc: BaseException) -> None:
    """Close the producer span Celery's instrumentation opened for a message that was never sent.

    The instrumentation starts that span (and makes it the current one) on ``before_task_publish``
    and ends it on ``after_task_publish``; when the broker is unreachable the second signal never
    comes, so without this the span stays open and every later span of the thread, and the
    request's log line, would point to it."""
    try:
        from opentelemetry.instrumentation.celery import utils
    except ImportError:  # tracing libraries absent: nothing was opened
        return
    context = utils.retrieve_context(task, task_id, is_publish=True)
    if context is None:
        return
    _span, activation, _token = context
    utils.detach_context(task, task_id, is_publish=True)
    # use_span's exit records the exception, sets the error status, ends the span and restores
    # the context that was current before the publish.
    activation.__exit__(type(exc), exc, exc.__traceback__)
