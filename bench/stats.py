#!/usr/bin/env python
"""Statistics latency benchmark: 100,000 activities for one user, PostgreSQL, real HTTP.

    make bench            # or: .venv/bin/python bench/stats.py [--activities N] [--runs N]

It creates (once) the database given by BENCH_DATABASE_URL, seeds the `demo` user through
`manage.py seed_demo --activities N --days 1825` (idempotent) and runs VACUUM ANALYZE (autovacuum's
work in production), starts gunicorn with the
production settings on a free localhost port, signs in over HTTP, and measures every
statistics endpoint:

- cold: the Redis database given by BENCH_REDIS_URL is flushed before every request (X-Cache
  must say MISS), so the figures include the SQL;
- warm: the answer is cached (X-Cache must say HIT).

It prints medians and 95th percentiles in milliseconds as a Markdown table. With --explain it
also prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) for every query each endpoint runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import Gunicorn, migrated_database  # noqa: E402

ENDPOINTS = [
    "/api/v1/activities/stats",
    "/api/v1/users/me/stats/weekly",
    "/api/v1/users/me/stats/monthly",
    "/api/v1/users/me/stats/by-type",
    "/api/v1/users/me/summary",
    "/api/v1/users/me/tags/top",
    "/api/v1/users/me/streaks",
    "/api/v1/analytics/records",
    "/api/v1/analytics/trends/monthly",
]
PASSWORD = "bench-password-2026"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def request(url: str, token: str | None = None, body: dict | None = None) -> tuple[dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read()), dict(response.headers)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def prepare(*, activities: int, days: int) -> dict:
    """The production environment of the benchmark servers, with the database migrated, the demo
    user seeded (idempotent), VACUUM ANALYZE run and the static files collected."""
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/activelog_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "JWT_SIGNING_KEY": "bench-only-jwt-signing-key-" + "y" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "THROTTLE_RATE_USER": "1000000/hour",
        "THROTTLE_RATE_LOGIN": "1000/min",
        "LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    # Set-up runs outside the production profile (seed_demo refuses to plant a known password there).
    setup_env = {**env, "DJANGO_ENV": "development", "DJANGO_DEBUG": "false"}
    migrated_database(db_url)
    seeded = time.perf_counter()
    subprocess.run([python, "manage.py", "seed_demo", "--users", "1", "--activities", str(activities),
                    "--days", str(days), "--password", PASSWORD], cwd=ROOT, env=setup_env, check=True)
    log(f"seed_demo: {time.perf_counter() - seeded:.1f} s")
    # What autovacuum does in production (and may not do here: the test PostgreSQL can run without
    # it): planner statistics and the visibility map for index-only scans.
    from bench.load import psql

    psql(db_url, "VACUUM ANALYZE")
    env["DJANGO_STATIC_ROOT"] = tempfile.mkdtemp(prefix="activelog-bench-static-")
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1825)
    parser.add_argument("--runs", type=int, default=30, help="requests per endpoint and mode")
    parser.add_argument("--explain", action="store_true", help="print the query plans too")
    args = parser.parse_args()

    env = prepare(activities=args.activities, days=args.days)
    redis_url = env["REDIS_URL"]

    server = Gunicorn(env, workers=1).start()  # the production command: gunicorn -c gunicorn.conf.py
    base = server.base
    try:
        login, _ = request(base + "/api/v1/auth/login", body={"username": "demo", "password": PASSWORD})
        token = login["access"]
        import redis

        cache = redis.Redis.from_url(redis_url)
        rows = []
        for path in ENDPOINTS:
            timings = {"cold": [], "warm": []}
            request(base + path, token)  # connections and code paths warmed once
            for mode in ("cold", "warm"):
                for _ in range(args.runs):
                    if mode == "cold":
                        cache.flushdb()
                    started = time.perf_counter()
                    _, headers = request(base + path, token)
                    timings[mode].append((time.perf_counter() - started) * 1000)
                    expected = "MISS" if mode == "cold" else "HIT"
                    if headers.get("X-Cache") != expected:
                        raise SystemExit(f"{path}: expected X-Cache {expected}, got {headers.get('X-Cache')}")
            rows.append((path, timings))
        total = request(base + "/api/v1/users/me/summary", token)[0]["total_activities"]
    finally:
        server.stop()

    print(f"\n{total:,} activities, {args.runs} requests per endpoint and mode, gunicorn gthread 1x4, "
          f"PostgreSQL + Redis on localhost\n")
    print("| endpoint | cold median ms | cold p95 ms | warm median ms | warm p95 ms | cold/warm |")
    print("|---|---:|---:|---:|---:|---:|")
    for path, t in rows:
        cold, warm = statistics.median(t["cold"]), statistics.median(t["warm"])
        print(f"| `{path}` | {cold:.1f} | {percentile(t['cold'], 95):.1f} | {warm:.1f} | "
              f"{percentile(t['warm'], 95):.1f} | {cold / warm:.1f}x |")

    if args.explain:
        explain(env)
    return 0


def explain(env: dict) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statistics query, captured through the test client."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "activelog.settings"
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="demo"))
    for path in ENDPOINTS:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            client.get(path, secure=True)
        print(f"\n### {path}\n")
        for query in ctx.captured_queries:
            sql = query["sql"]
            if "activities_activity" not in sql and "activities_tag" not in sql:
                continue  # authentication and session lookups
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"```\n{sql}\n\n{plan}\n```")


if __name__ == "__main__":
    raise SystemExit(main())
