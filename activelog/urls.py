from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from activelog import views
from activelog.storage import serve_signed
from health import views as health_views

# Activities first: they carry most of the traffic, and a request whose path is not among a
# group's patterns costs the resolver a Resolver404 and a list of what it tried. No path is in both.
api_v1 = [
    path("", include("activities.urls")),
    path("", include("accounts.urls")),
]

urlpatterns = [
    # First: Django tries the patterns in order, and the API carries most of the traffic.
    path("api/v1/", include(api_v1)),
    path("", views.home, name="home"),
    # The browser UI (session + CSRF); the API below keeps its own paths.
    path("", include("accounts.web_urls")),
    path("", include("activities.web_urls")),
    # Normally answered by health.middleware before host checks; routed too so other methods get 405.
    path("health", health_views.health, name="health"),
    path("health/live", health_views.live, name="health-live"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Anything else under /api/ is a problem+json 404, also with DEBUG on, for every method: exempt
    # from CSRF, or a POST to an unknown path would get the CSRF failure (403) instead.
    re_path(r"^api(/.*)?$", csrf_exempt(views.api_not_found)),
    path(settings.ADMIN_URL, admin.site.urls),
    path("media/signed/<path:name>", serve_signed, name="signed-media"),
]

handler400 = "activelog.views.rejected"
handler403 = "activelog.views.forbidden"
handler404 = "activelog.views.not_found"
handler500 = "activelog.views.crashed"
