"""Export and job endpoints (API.md §6)."""

urlpatterns: list = []
