"""Celery entry points (wiring only): the tasks live in their areas, under the names that queued
messages refer to (``activities.tasks.*``), so messages survive a rolling deploy."""

from activities.exports.tasks import cleanup_expired_exports, render_report

__all__ = ["cleanup_expired_exports", "render_report"]
