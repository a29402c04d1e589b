"""Photo endpoints (API.md §5)."""

urlpatterns: list = []
