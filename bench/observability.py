#!/usr/bin/env python
"""Cost of observability on the activity list endpoint, and samples of each signal.

    .venv/bin/python bench/observability.py [--requests 1500] [--runs 12] [--pairs 3] [KEY=VALUE ...]

Runs two identical gunicorns side by side on the last CPU (1 worker x 4 threads, production
settings, no worker recycling, local PostgreSQL and Redis; this client on the other CPUs, or
anywhere with --no-pin): observability "off" (no OTLP endpoint, WARNING logs;
metrics are always on) and "on" (every request traced and exported over OTLP/HTTP to a local
receiver, one INFO log line per request). Runs alternate between the two (off, on, on, off, ...)
so that a drift in the machine's speed hits both, on --pairs fresh pairs of processes (identical
processes differ by a few percent); each run sends the requests from 4 threads
over keep-alive connections; the throughput of each mode is the median of --runs runs, and so is
the worker's CPU time per request (from /proc, all its threads: the exporter's too). Then
prints a /metrics excerpt, one exported trace tree and one JSON log line. Extra KEY=VALUE
arguments go into the "on" server's environment.
"""

import argparse
import contextlib
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.health import load
from tests.support.databases import OBS_DATABASE_URL
from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env, migrated_database, otlp_receiver

EXTRA_ON = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
HEADERS = {"Host": "localhost", "X-Forwarded-Proto": "https", "Content-Type": "application/json"}


def request(port, method, path, body=None, token=None, extra_headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    headers = dict(HEADERS, **({"Authorization": f"Bearer {token}"} if token else {}), **(extra_headers or {}))
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def cpu_ticks(pid: int) -> int:
    """User + system CPU of a process (all its threads), in clock ticks."""
    return sum(int(field) for field in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])


def worker_pid(server) -> int:
    return int(Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()[0])


def throughput(port, token, total, concurrency=4, worker=None) -> tuple[float, float | None]:
    """Requests per second, and the worker's CPU milliseconds per request when its pid is given."""
    before = cpu_ticks(worker) if worker else 0
    _, elapsed = load(port, "/api/v1/activities?limit=20", total, concurrency,
                      headers=dict(HEADERS, Authorization=f"Bearer {token}"))
    cpu = (cpu_ticks(worker) - before) * 1000 / os.sysconf("SC_CLK_TCK") / total if worker else None
    return total / elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=12, help="runs per mode, split evenly over the pairs")
    parser.add_argument("--pairs", type=int, default=3, help="fresh pairs of server processes")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the OS place the servers and the client (default: servers on the last CPU)")
    args, _ = parser.parse_known_args()
    migrated_database(OBS_DATABASE_URL, empty=True)
    base_env = clean_env(**PRODUCTION_ENV, DATABASE_URL=OBS_DATABASE_URL, REDIS_URL="redis://127.0.0.1:6379/12",
                         THROTTLE_RATE_USER="1000000/s", THROTTLE_RATE_REGISTER="1000/min",
                         THROTTLE_RATE_LOGIN="1000/min")
    base_env["GUNICORN_MAX_REQUESTS"] = "0"  # steady state: no worker recycling inside a run
    # The server gets a CPU of its own, like a 1-vCPU task; this client (and the span receiver)
    # use the others. PostgreSQL and Redis go where the OS puts them.
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = None
    if not args.no_pin and len(cpus) >= 2:
        server_cpus = {cpus[-1]}
        os.sched_setaffinity(0, set(cpus[:-1]))
    results, cpu, token = {"off": [], "on": []}, {"off": [], "on": []}, None
    on_env = {**base_env, "LOG_LEVEL": "INFO", **EXTRA_ON}
    with otlp_receiver() as (endpoint, spans):
        on_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        for pair in range(args.pairs):
            # A fresh pair of processes each time: identical server processes differ by a few
            # percent in CPU per request, so one pair alone can tilt the comparison.
            with contextlib.ExitStack() as stack:
                # Both servers run side by side and the runs alternate (off, on, on, off, ...): a
                # drift of the machine's speed hits both modes alike. One process each:
                # keep-alive connections stick to a worker, and with two the split of the
                # connections between them (random per run) would dominate the measurement.
                servers = {
                    "off": stack.enter_context(Gunicorn(base_env, workers=1, cpus=server_cpus)),
                    "on": stack.enter_context(Gunicorn(on_env, workers=1, cpus=server_cpus)),
                }
                port = servers["off"].port
                if token is None:
                    _, body = request(port, "POST", "/api/v1/auth/register", {
                        "username": "bench", "email": "bench@example.com", "password": "a-long-passphrase-7"})
                    token = json.loads(body)["access"]
                    for day in range(1, 31):
                        request(port, "POST", "/api/v1/activities", {
                            "activity_type": "running", "duration_minutes": 30 + day, "distance_km": 5,
                            "activity_date": f"2026-03-{day:02d}T07:00:00Z", "tags": ["bench"]}, token)
                else:  # a new access token: a long benchmark outlives one
                    _, body = request(port, "POST", "/api/v1/auth/login",
                                      {"username": "bench", "password": "a-long-passphrase-7"})
                    token = json.loads(body)["access"]
                for server in servers.values():
                    throughput(server.port, token, 300)  # warm-up: connections, caches, imports
                workers = {mode: worker_pid(server) for mode, server in servers.items()}
                for run in range(args.runs // args.pairs):
                    for mode in (("off", "on") if run % 2 == 0 else ("on", "off")):
                        rate, milliseconds = throughput(servers[mode].port, token, args.requests,
                                                        worker=workers[mode])
                        results[mode].append(rate)
                        cpu[mode].append(milliseconds)
                if pair == args.pairs - 1:
                    server = servers["on"]
                    request(server.port, "POST", "/api/v1/activities", {  # for the created counter
                        "activity_type": "cycling", "duration_minutes": 45, "activity_date": "2026-04-01T07:00:00Z"},
                        token)
                    request(server.port, "GET", "/api/v1/activities/1", token=token,
                            extra_headers={"X-Request-ID": "bench-sample-1"})
                    samples_out = {"metrics": request(server.port, "GET", "/metrics")[1].decode(),
                                   "lines": server.lines()}
                    time.sleep(6)  # the batch span processor exports every 5 s
        all_spans = list(spans)

    off, on = statistics.median(results["off"]), statistics.median(results["on"])
    placement = "unpinned"
    if server_cpus:
        placement = f"servers on CPU {min(server_cpus)}, client on CPU {sorted(os.sched_getaffinity(0))}"
    print(f"GET /api/v1/activities?limit=20, {args.requests} requests x {args.runs} runs per mode on "
          f"{args.pairs} pairs of servers, 4 threads, gunicorn 1x4, {placement}\n")
    print("| observability | runs (requests/s) | median requests/s | worker CPU ms/request (median) |")
    print("|---|---|---:|---:|")
    for mode in ("off", "on"):
        print(f"| {mode} | {', '.join(f'{r:.0f}' for r in results[mode])} | {statistics.median(results[mode]):.0f} "
              f"| {statistics.median(cpu[mode]):.2f} |")
    cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    print(f"\ncost: {(1 - on / off) * 100:.1f}% fewer requests/s with everything on; "
          f"{(cpu_on / cpu_off - 1) * 100:.1f}% more worker CPU per request\n")

    print("### /metrics excerpt\n")
    wanted = ("django_http_requests_total_by_view_transport_method_total{", "activelog_activities_created_total{",
              "django_http_requests_latency_seconds_by_view_method_count{", "activelog_db_pool_connections{")
    for line in samples_out["metrics"].splitlines():
        if line.startswith(wanted) and ("activity-list" in line or "activelog_" in line):
            print(line)

    print("\n### trace of GET /api/v1/activities/1\n")
    line = next(json.loads(entry) for entry in samples_out["lines"]
                if '"bench-sample-1"' in entry and "activelog.request" in entry)
    trace = [s for s in all_spans if s["trace_id"] == line.get("trace_id")]

    def show(parent, depth):
        for span in [s for s in trace if s["parent_id"] == parent]:
            keys = ("http.route", "activity.id", "user.id", "db.statement", "db.query.text")
            attributes = {k: v for k, v in span["attributes"].items() if k in keys}
            text = json.dumps(attributes)[:110]
            print(f"{'  ' * depth}- {span['name']} [{span['service']}] {text}")
            show(span["span_id"], depth + 1)

    show(None, 0)
    print("\n### the request's log line\n")
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
