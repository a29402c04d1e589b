#!/usr/bin/env python
"""Garbage-collector time per activity-list request, with and without gc.freeze() after load.

    .venv/bin/python bench/gc_freeze.py [--requests 800]

Each configuration runs in its own process: production settings against the local PostgreSQL
and Redis, the WSGI app called in-process (no HTTP), one thread. After 200 warm-up requests it
sends --requests GET /api/v1/activities?limit=20 and reports, from gc.callbacks, the collector's
time per request and the collections per generation. "tracing on" exports every span over
OTLP/HTTP to a local receiver, as in bench/observability.py. Times are CPU seconds on a shared
machine: compare the collector's share, which is what freezing changes.
"""

import argparse
import io
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(requests: int, freeze: bool) -> None:
    """Runs inside the measured process; prints one JSON line."""
    import gc

    from activelog.warmup import freeze_loaded_objects
    from activelog.wsgi import application

    def call(method, path, query="", body=b"", token=None):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "localhost",
                   "SERVER_PORT": "8080", "HTTP_HOST": "localhost", "wsgi.url_scheme": "http",
                   "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
                   "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
                   "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr}
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        status = []
        chunks = application(environ, lambda s, headers, exc=None: status.append(s))
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0]), content

    _, body = call("POST", "/api/v1/auth/register", body=json.dumps(
        {"username": "gc-bench", "email": "gc-bench@example.com", "password": "a-long-passphrase-7"}).encode())
    token = json.loads(body)["access"]
    for day in range(1, 31):
        call("POST", "/api/v1/activities", token=token, body=json.dumps({
            "activity_type": "running", "duration_minutes": 30 + day, "distance_km": 5,
            "activity_date": f"2026-03-{day:02d}T07:00:00Z", "tags": ["bench"]}).encode())
    for _ in range(200):
        call("GET", "/api/v1/activities", "limit=20", token=token)
    if freeze:
        freeze_loaded_objects("bench")

    spent, counts, started = [0.0, 0.0, 0.0], [0, 0, 0], {}

    def observe(phase, info):
        if phase == "start":
            started["at"] = time.perf_counter()
        else:
            spent[info["generation"]] += time.perf_counter() - started["at"]
            counts[info["generation"]] += 1

    gc.callbacks.append(observe)
    cpu = time.process_time()
    for _ in range(requests):
        status, _ = call("GET", "/api/v1/activities", "limit=20", token=token)
        assert status == 200, status
    cpu = time.process_time() - cpu
    gc.callbacks.remove(observe)
    print(json.dumps({"cpu_us": cpu / requests * 1e6, "gc_us": sum(spent) / requests * 1e6,
                      "collections": counts, "gc_ms_by_generation": [round(s * 1000) for s in spent]}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--child", choices=["freeze", "nofreeze"])
    args = parser.parse_args()
    if args.child:
        child(args.requests, args.child == "freeze")
        return 0

    from tests.support.databases import OBS_DATABASE_URL
    from tests.support.servers import PRODUCTION_ENV, clean_env, migrated_database, otlp_receiver

    print(f"GET /api/v1/activities?limit=20, {args.requests} requests in-process, one thread\n")
    print("| tracing | gc.freeze() | CPU us/request | collector us/request | collections gen0/1/2 "
          "| collector ms gen0/1/2 |")
    print("|---|---|---:|---:|---|---|")
    with otlp_receiver() as (endpoint, _spans):
        for tracing in ("off", "on"):
            for freeze in ("nofreeze", "freeze"):
                migrated_database(OBS_DATABASE_URL, empty=True)
                env = clean_env(**{**PRODUCTION_ENV, "LOG_LEVEL": "INFO" if tracing == "on" else "WARNING"},
                                DATABASE_URL=OBS_DATABASE_URL, REDIS_URL="redis://127.0.0.1:6379/12",
                                THROTTLE_RATE_USER="1000000/s", THROTTLE_RATE_REGISTER="1000/min",
                                **({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} if tracing == "on" else {}))
                out = subprocess.run([sys.executable, __file__, "--child", freeze, "--requests", str(args.requests)],
                                     cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                print(f"| {tracing} | {'yes' if freeze == 'freeze' else 'no'} | {result['cpu_us']:.0f} "
                      f"| {result['gc_us']:.0f} | {'/'.join(map(str, result['collections']))} "
                      f"| {'/'.join(map(str, result['gc_ms_by_generation']))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
