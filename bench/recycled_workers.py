#!/usr/bin/env python
"""Scrape time of /metrics after many worker recycles, with and without compaction.

    .venv/bin/python bench/recycled_workers.py --workers 500 --mode compact
    .venv/bin/python bench/recycled_workers.py --workers 500 --mode keep     # before the fix

Sets Django up on its embedded defaults (a fresh SQLite file) with a fresh PROMETHEUS_MULTIPROC_DIR, then forks
``--workers`` short-lived processes in turn. Each serves the same simulated requests through the
metrics the app really records (django-prometheus's request counters and latency histograms for
``--views`` views, ActiveLog's activity and login counters) and exits; the parent then does what
gunicorn's master does in ``child_exit``: ``retire_process`` (compact, today) or only
``mark_process_dead`` (keep, as before). The scrape (the aggregation /metrics serves) is timed
after the first worker and after the last, as the median of ``--scrapes`` scrapes.

Prints one JSON line: the totals the scrape reports (they must equal workers x views), the number
of files in the directory and the two medians in milliseconds.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--views", type=int, default=12)
    parser.add_argument("--scrapes", type=int, default=5)
    parser.add_argument("--mode", choices=("compact", "keep"), default="compact")
    options = parser.parse_args(argv)

    directory = tempfile.mkdtemp(prefix="activelog-recycle-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}.sqlite3"  # the scrape's queue query needs the tables
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django_prometheus.middleware import Metrics
    from prometheus_client import generate_latest, multiprocess
    from prometheus_client.parser import text_string_to_metric_families

    from activelog import metrics
    from activelog.multiprocess import file_count, retire_process

    requests = Metrics.get_instance()
    views = [f"activities:view-{number}" for number in range(options.views)]

    def serve_and_exit() -> None:
        for view in views:
            requests.requests_by_view_transport_method.labels(view, "http", "GET").inc()
            requests.requests_latency_by_view_method.labels(view, "GET").observe(0.012)
            requests.responses_by_status_view_method.labels("200", view, "GET").inc()
        metrics.ACTIVITIES_CREATED.labels(activity_type="running").inc()
        metrics.LOGINS.labels(result="success").inc()
        os._exit(0)

    def scrape_ms() -> float:
        timings = []
        for _ in range(options.scrapes):
            started = time.perf_counter()
            generate_latest(metrics.registry())
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    first = None
    for number in range(options.workers):
        pid = os.fork()
        if pid == 0:
            try:
                serve_and_exit()
            finally:
                os._exit(70)  # never return into the parent's loop
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"simulated worker {pid} failed")
        if options.mode == "compact":
            retire_process(pid, directory)
        else:
            multiprocess.mark_process_dead(pid, directory)
        if number == 0:
            first = scrape_ms()
    last = scrape_ms()

    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(generate_latest(metrics.registry()).decode()):
        for sample in family.samples:
            if sample.name in {"django_http_requests_total_by_view_transport_method_total",
                               "django_http_requests_latency_seconds_by_view_method_count",
                               "activelog_activities_created_total"} or (
                    sample.name == "activelog_logins_total" and sample.labels.get("result") == "success"):
                totals[sample.name] = totals.get(sample.name, 0) + sample.value
    result = {"mode": options.mode, "workers": options.workers, "views": options.views, "totals": totals,
              "files": file_count(directory), "scrape_ms_after_first": round(first, 2),
              "scrape_ms_after_last": round(last, 2)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
