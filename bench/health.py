#!/usr/bin/env python
"""Latency of /health and /health/live under a short local load, through production gunicorn.

    .venv/bin/python bench/health.py [--requests 2000] [--concurrency 16]

Starts `gunicorn -c gunicorn.conf.py activelog.wsgi` with DJANGO_ENV=production against the
local PostgreSQL and Redis, sends the requests over keep-alive connections from N threads, and
prints p50/p99 in milliseconds and the throughput for each path.
"""

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env


def load(port: int, path: str, total: int, concurrency: int, headers: dict | None = None) -> tuple[list[float], float]:
    """GET ``path`` ``total`` times from ``concurrency`` keep-alive connections; returns the
    latencies (ms) and the elapsed seconds. Any status but 200 stops the run."""
    headers = headers or {"Host": "10.0.3.17:8080"}
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}")
            mine.append((time.perf_counter() - started) * 1000)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
                    REDIS_URL="redis://127.0.0.1:6379/15")
    with Gunicorn(env) as server:
        print(f"{args.requests} requests, {args.concurrency} concurrent, gunicorn gthread 2x4, production settings\n")
        print("| path | p50 ms | p99 ms | requests/s |")
        print("|---|---:|---:|---:|")
        for path in ("/health/live", "/health"):
            load(server.port, path, 200, args.concurrency)  # warm-up
            latencies, elapsed = load(server.port, path, args.requests, args.concurrency)
            p99 = statistics.quantiles(latencies, n=100)[98]
            print(f"| `{path}` | {statistics.median(latencies):.1f} | {p99:.1f} | {len(latencies) / elapsed:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
