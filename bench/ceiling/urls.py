"""The ceiling's two views: what any DRF view costs, with and without one database round trip."""

from django.db import connection
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

ITEMS = [
    {"id": 2000 - n, "activity_type": "running", "title": f"Morning run {n}", "duration_minutes": 30 + n,
     "distance_km": 5.25, "calories_burned": 320, "activity_date": "2026-03-01T07:00:00Z",
     "tags": ["morning", "outdoor"]}
    for n in range(20)
]


class StaticItems(APIView):
    def get(self, request):
        return Response({"count": 2000, "next": None, "previous": None, "results": ITEMS})


class SelectOne(APIView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            (value,) = cursor.fetchone()
        return Response({"value": value})


urlpatterns = [
    path("items", StaticItems.as_view()),
    path("select-1", SelectOne.as_view()),
]
