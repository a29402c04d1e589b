from activelog.metrics import metrics_view
from health import views

# Answered before host validation and the HTTPS redirect: the ALB and ECS check with the task's
# private IP as Host, over plain HTTP, and Prometheus scrapes tasks by IP. Being first in the
# chain also keeps them out of traces and request metrics.
HOST_AGNOSTIC_PATHS = {
    "/health": views.health,
    "/health/": views.health,
    "/health/live": views.live,
    "/health/live/": views.live,
    "/metrics": metrics_view,
}


class HealthCheckMiddleware:
    """Serve the operations endpoints first in the chain, whatever the Host header says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = HOST_AGNOSTIC_PATHS.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            response = view(request)
            # CommonMiddleware, which adds it to every other response, comes later in the chain.
            # Without it gunicorn sends the body chunked: one more write and more bytes per check.
            if not response.streaming and "Content-Length" not in response:
                response["Content-Length"] = str(len(response.content))
            return response
        return self.get_response(request)
