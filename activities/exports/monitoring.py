"""The report queue as Prometheus families, computed when /metrics is scraped (registered in
``ActivitiesConfig.ready``): jobs waiting and running, and how long the oldest has waited."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from activelog import metrics
from activities.exports.selectors import export_queue
from activities.models import ExportJob


def export_queue_families() -> Iterator[Metric]:
    queue = export_queue()
    jobs = GaugeMetricFamily("activelog_export_jobs", "Report jobs not finished yet, per state.", labels=["status"])
    for status in (ExportJob.Status.PENDING, ExportJob.Status.PROCESSING):
        jobs.add_metric([status.value], queue[status.value])
    yield jobs
    yield GaugeMetricFamily("activelog_export_oldest_pending_age_seconds",
                            "Age of the oldest report job still waiting for a worker (0 when none waits).",
                            value=queue["oldest_pending_age_seconds"])


def install() -> None:
    """Pre-create the per-format export counters and add the queue to every scrape."""
    for counter in (metrics.EXPORTS_REQUESTED, metrics.EXPORTS_COMPLETED, metrics.EXPORTS_FAILED):
        metrics.precreate(counter, "format", ExportJob.Format.values)
    metrics.register_scrape_source(export_queue_families, "export queue")
