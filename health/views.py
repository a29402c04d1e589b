import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_safe

from activelog.runtime import placement
from health import probes
from health.apps import PROCESS_STARTED


@require_safe
def live(request):
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})


@require_safe
def health(request):
    """Deep status (API.md §7): 200 while the database answers, 503 when it does not."""
    services = probes.cached_probes()
    if services["database"]["status"] != probes.UP:
        status, code = "unhealthy", 503
    elif any(s["status"] == probes.DOWN for s in services.values()):
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    where = placement()
    body = {
        "status": status,
        "environment": settings.ENVIRONMENT,
        "version": settings.APP_VERSION,
        "services": services,
        "instance_id": where["instance_id"],
        "region": where["region"],
        "uptime_seconds": int(time.monotonic() - PROCESS_STARTED),
    }
    headers = {"Cache-Control": "no-store"}
    if code == 503:
        headers["Retry-After"] = str(settings.HEALTH_CACHE_SECONDS or 5)
    return JsonResponse(body, status=code, headers=headers)
