#!/usr/bin/env python
"""Load test of the production command: req/s, p50, p99, errors, SQL per request and worker RSS.

    make bench-load       # or: .venv/bin/python bench/load.py [--runs 3] [--quick] [--endpoints ...]

1. Data: one user (`demo`) with 2,000 activities over two years, seeded by bench/stats.py's
   prepare() (`manage.py seed_demo --activities 2000 --days 730`, idempotent) into its own
   PostgreSQL database (BENCH_LOAD_DATABASE_URL, default .../activelog_bench_load), then VACUUM
   ANALYZE. Redis: BENCH_REDIS_URL (default db 12), CACHE_KEY_PREFIX=benchload.
2. Servers: the production command, `gunicorn -c gunicorn.conf.py activelog.wsgi`, with
   DJANGO_ENV=production and the settings as shipped (2 balanced gthread workers x 4 threads,
   recycling after ~200,000 requests, ...; any GUNICORN_* in the environment overrides them, as in
   production). Only the throttle rates are raised (THROTTLE_RATE_USER/ANON/LOGIN), so the load is
   not refused. Every request carries X-Forwarded-Proto: https and X-Forwarded-For, as the ALB
   sends them. A second, identical server measures cold statistics (below). A bare Django + DRF
   project (bench/ceiling/) is served with the same gunicorn values: the ceiling.
3. Clients: a bearer token from POST /api/v1/auth/login (a fresh one before every endpoint's run:
   tokens live 15 minutes) and a session cookie from the sign-in form (CSRF included).
4. Load: Debian's wrk, `-t2 -c16 -d20s` after a 3 s warm-up (the peer benchmark's line), with
   bench/wrk/load.lua (headers; every non-2xx counted). Before each endpoint it waits (up to
   --wait-idle s) for a quiet machine. Rounds: every endpoint once per round, in order, --runs
   rounds; the table gives the medians.

Endpoints: list (`/api/v1/activities?limit=20`), detail (the median activity by date), statistics
cached (`/api/v1/analytics/trends/monthly?months=12`: calendar-month totals over a year, the peer's
monthly stats; every response must say X-Cache: HIT), statistics cold (the same URL on the cold
server, started with STATS_CACHE_SECONDS=0 and its own CACHE_KEY_PREFIX: every request misses,
computes the SQL and writes to Redis, which discards it at once; every response must say X-Cache:
MISS), the browser dashboard and activities list (session cookie), /health/live, the ceiling's
two views, and create (POST an activity; last in each round; the rows it made are deleted after
the round and the user's stats_version bumped, so every round starts from the same 2,000).

SQL per request: counted once per endpoint, outside the load, in a separate process with the
same environment: Django's test client (same settings, same token or session cookie, same
headers) under CaptureQueriesContext, after one warm-up request; the cold count after deleting the
user's cached statistics. Authentication and session queries are included.

Also recorded per run: busy cores of gunicorn and PostgreSQL, the busiest worker's share of the
established connections (sampled with `ss -tnp` three times during the run) and of the workers'
CPU, worker boots during the run (recycling), and RSS of master + workers after the run.

Prints a Markdown table (medians) and writes everything to a JSON file under /tmp
(BENCH_LOAD_RESULTS, default /tmp/activelog-bench-load/<UTC timestamp>.json).
"""

import argparse
import datetime as dt
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/activelog_bench_load"
LUA = ROOT / "bench" / "wrk" / "load.lua"
STATS_PATH = "/api/v1/analytics/trends/monthly?months=12"
CACHE_PREFIX, COLD_CACHE_PREFIX = "benchload", "benchload-cold"  # the two servers' CACHE_KEY_PREFIX
CREATE_TITLE = "bench-load create"  # marks the rows the create endpoint makes (deleted after each round)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# name, server ("app", "cold", "ceiling"), method, path ("{detail}" filled in), auth ("token", "cookie", None),
# expected X-Cache, description
ENDPOINTS = [
    ("list", "app", "GET", "/api/v1/activities?limit=20", "token", None, "20 newest"),
    ("detail", "app", "GET", "/api/v1/activities/{detail}", "token", None, "one activity"),
    ("stats-cached", "app", "GET", STATS_PATH, "token", "HIT", "monthly statistics, cached"),
    ("stats-cold", "cold", "GET", STATS_PATH, "token", "MISS", "monthly statistics, cold"),
    ("dashboard", "app", "GET", "/dashboard", "cookie", None, "browser dashboard"),
    ("activities-page", "app", "GET", "/activities", "cookie", None, "browser activities list"),
    ("live", "app", "GET", "/health/live", None, None, "liveness"),
    ("ceiling-items", "ceiling", "GET", "/items", None, None, "bare DRF, 20 static items"),
    ("ceiling-select", "ceiling", "GET", "/select-1", None, None, "bare DRF, SELECT 1"),
    ("create", "app", "POST", "/api/v1/activities", "token", None, "log an activity"),
]
NAMES = [e[0] for e in ENDPOINTS]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- servers -------------------------------------------------------------------------------------


def make_server(env: dict, *, app: str = "activelog.wsgi", config: str = "gunicorn.conf.py",
                ready: str = "/health/live", workers: int = 2):
    from tests.support.servers import Gunicorn, wait_for_http

    class Server(Gunicorn):
        def start(self):
            self._spawn([sys.executable, "-m", "gunicorn", "-c", config, self.app], self.env)
            wait_for_http(self.base + ready, process=self.process)
            return self

        def pids(self) -> list[int]:
            """The master and its current workers."""
            master = self.process.pid
            try:
                children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
            except OSError:
                children = []
            return [master, *map(int, children)]

        def boots(self) -> int:
            return sum("Booting worker" in line for line in self.lines())

    return Server(env, app=app, workers=workers)


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
        except (OSError, IndexError):
            continue
    return total / 1024


def ticks(pids, *, children: bool = False) -> dict[int, int]:
    """CPU ticks (user + system) per process; with ``children``, plus those of its reaped children."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = sum(int(f) for f in fields[11:15 if children else 13])
    return out


def gunicorn_ticks(server) -> tuple[int, dict[int, int]]:
    """All CPU ticks of a gunicorn tree: the master with the workers it reaped (recycled ones
    included), plus the live workers; and the live workers' own ticks."""
    master = server.process.pid
    workers = ticks([pid for pid in server.pids() if pid != master])
    return sum(ticks([master], children=True).values()) + sum(workers.values()), workers


def busy_ticks() -> int:
    values = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, values[:8])
    return user + nice + system + irq + softirq + steal


def busy_cores(seconds: float) -> float:
    before = busy_ticks()
    time.sleep(seconds)
    return (busy_ticks() - before) / CLK_TCK / seconds


def wait_quiet(limit: float, threshold: float = 0.2) -> float:
    """Wait (at most ``limit`` s) until the machine uses less than ``threshold`` cores."""
    started = time.monotonic()
    while True:
        busy = busy_cores(2)
        if busy < threshold or time.monotonic() - started >= limit:
            if busy >= threshold:
                log(f"  machine still busy ({busy:.2f} cores) after {limit:.0f} s; running anyway")
            return busy
        time.sleep(1)


def postgres_ticks() -> int:
    """All CPU ticks of the PostgreSQL server: the postmaster with the backends it reaped (a
    recycled worker's pooled connections end with it), plus its live processes. The whole server:
    the benchmark waits for a quiet machine, so the other databases are idle."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if Path(cmdline[0].decode(errors="replace")).name == "postgres" and b"-D" in cmdline:  # the postmaster
            master = int(entry.name)
            try:
                children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
            except OSError:
                children = []
            return sum(ticks([master], children=True).values()) + sum(ticks(map(int, children)).values())
    return 0


def connections_per_pid(port: int) -> dict[int, int]:
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=False).stdout
    counts: dict[int, int] = {}
    for line in out.splitlines():
        match = re.search(r"pid=(\d+)", line)
        if match:
            counts[int(match.group(1))] = counts.get(int(match.group(1)), 0) + 1
    return counts


# --- data and clients ---------------------------------------------------------------------------


def psql(url: str, sql: str, params=None, *, autocommit: bool = True):
    import psycopg

    with psycopg.connect(url, autocommit=autocommit) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def delete_created(url: str) -> int:
    """Delete the activities the create endpoint made (and their tag links), and bump the user's
    stats_version so that no statistics cached while they existed are served again."""
    import psycopg

    with psycopg.connect(url) as conn:
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM activities_activity WHERE title = %s", [CREATE_TITLE]).fetchall()]
        if ids:
            conn.execute("DELETE FROM activities_activity_tags WHERE activity_id = ANY(%s)", [ids])
            conn.execute("DELETE FROM activities_photo WHERE activity_id = ANY(%s)", [ids])
            conn.execute("DELETE FROM activities_activity WHERE id = ANY(%s)", [ids])
            conn.execute("UPDATE accounts_user SET stats_version = stats_version + 1 WHERE username = 'demo'")
            forget_cached_users()
    return len(ids)


def forget_cached_users() -> None:
    """The servers' authentication cache (accounts/user_cache.py) holds the user row with its
    stats_version: the bump above happened behind the app's back, so drop the cached copies."""
    import redis

    client = redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    for prefix in (CACHE_PREFIX, COLD_CACHE_PREFIX):
        keys = list(client.scan_iter(f"{prefix}:*:authuser:*"))
        if keys:
            client.delete(*keys)


def api(base: str, path: str, *, token: str | None = None, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    req.add_header("X-Forwarded-Proto", "https")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def get_token(base: str) -> str:
    from bench.stats import PASSWORD

    return api(base, "/api/v1/auth/login", body={"username": "demo", "password": PASSWORD})["access"]


def get_session_cookie(base: str) -> str:
    from bench.pages import Browser
    from bench.stats import PASSWORD

    browser = Browser(base)
    _, page = browser.fetch("/accounts/login")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, _ = browser.fetch("/accounts/login", {"csrfmiddlewaretoken": csrf, "identifier": "demo",
                                                   "password": PASSWORD})
    if status != 302:
        raise SystemExit(f"browser sign-in failed: HTTP {status}")
    return "; ".join(f"{k}={v}" for k, v in browser.cookies.items())


def create_body() -> str:
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    return json.dumps({
        "activity_type": "running", "title": CREATE_TITLE, "duration_minutes": 42, "distance_km": 8.4,
        "calories_burned": 510, "activity_date": when.isoformat().replace("+00:00", "Z"),
        "tags": ["morning", "outdoor"], "notes": "Steady.",
    })


# --- SQL per request (separate process, same environment) --------------------------------------


def count_queries(spec: dict) -> dict:
    """Run in a child process whose environment is the server's: one warm-up request, then the
    queries of one request, per endpoint."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.10")
    counts = {}
    for name, method, path, auth, body in spec["endpoints"]:
        headers = {}
        if auth == "token":
            headers["HTTP_AUTHORIZATION"] = f"Bearer {spec['token']}"
        elif auth == "cookie":
            headers["HTTP_COOKIE"] = spec["cookie"]

        def call(method=method, path=path, body=body, headers=headers):
            if method == "POST":
                return client.post(path, data=body, content_type="application/json", **headers)
            return client.get(path, **headers)

        if name != "create":
            call()
        if name == "stats-cold":
            cache.delete_pattern("stats:*")
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        if not 200 <= response.status_code < 300:
            raise SystemExit(f"{name}: HTTP {response.status_code} in the query count")
        counts[name] = len(ctx.captured_queries)
    return counts


# --- wrk ----------------------------------------------------------------------------------------


def run_wrk(url: str, *, duration: str, threads: int, connections: int, env: dict, latency: bool = True) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--timeout", "10s",
               *(["--latency"] if latency else []), "-s", str(LUA), url]
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk failed on {url}:\n{out.stdout}\n{out.stderr}")
    result = {}
    for field in line.split()[1:]:
        key, value = field.split("=")
        result[key] = float(value) if "." in value else int(value)
    result["socket_errors"] = sum(result[k] for k in ("sock_connect", "sock_read", "sock_write", "sock_timeout"))
    return result


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]] if duration[-1] in units else float(duration)


def measure(server, url: str, wrk_env: dict, args) -> dict:
    """Warm-up, then the measured run with CPU, connection and boot accounting."""
    if args.warmup and args.warmup != "0":
        run_wrk(url, duration=args.warmup, threads=args.threads, connections=args.connections, env=wrk_env,
                latency=False)
    samples: list[dict[int, int]] = []
    length = seconds(args.duration)

    def sample():
        for _ in range(3):  # at 1/4, 1/2 and 3/4 of the run
            time.sleep(length / 4)
            samples.append(connections_per_pid(server.port))

    sampler = threading.Thread(target=sample, daemon=True)
    boots0 = server.boots()
    (g0, w0), p0, b0, t0 = gunicorn_ticks(server), postgres_ticks(), busy_ticks(), time.monotonic()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.start()
    result = run_wrk(url, duration=args.duration, threads=args.threads, connections=args.connections, env=wrk_env)
    pids = server.pids()
    (g1, w1), p1, b1, t1 = gunicorn_ticks(server), postgres_ticks(), busy_ticks(), time.monotonic()
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.join()
    elapsed = t1 - t0
    wrk_cores = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) / elapsed
    master = server.process.pid
    worker_ticks = {pid: w1[pid] - w0.get(pid, 0) for pid in w1}  # workers alive at the end
    gunicorn = g1 - g0
    shares = []
    for counts in samples:
        workers = {pid: n for pid, n in counts.items() if pid != master}
        if sum(workers.values()):
            shares.append(max(workers.values()) / sum(workers.values()))
    result.update({
        "errors": result["non2xx"] + result["socket_errors"],
        "cores_gunicorn": round(gunicorn / CLK_TCK / elapsed, 2),
        "cores_postgres": round((p1 - p0) / CLK_TCK / elapsed, 2),
        "cores_total": round((b1 - b0) / CLK_TCK / elapsed, 2),
        "cores_wrk": round(wrk_cores, 2),
        # Busy CPU not used by this server, PostgreSQL or wrk: another process disturbed the run.
        "cores_other": round(max(0.0, (b1 - b0 - gunicorn) / CLK_TCK / elapsed - wrk_cores
                                 - (p1 - p0) / CLK_TCK / elapsed), 2),
        "busiest_worker_cpu_share": round(max(worker_ticks.values()) / sum(worker_ticks.values()), 2)
        if sum(worker_ticks.values()) else None,
        "busiest_worker_conn_share": round(statistics.median(shares), 2) if shares else None,
        "connection_samples": [{str(k): v for k, v in s.items()} for s in samples],
        "worker_boots": server.boots() - boots0,
        "rss_mib": round(rss_mib(pids), 1),
    })
    return result


# --- main ---------------------------------------------------------------------------------------


def prepare_environment(args) -> tuple[dict, str]:
    from bench.stats import prepare

    db_url = os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["BENCH_DATABASE_URL"] = db_url  # prepare() reads it
    os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    try:
        delete_created(db_url)  # leftovers of an interrupted run
    except Exception:  # noqa: S110 - the database may not exist yet
        pass
    started = time.perf_counter()
    env = prepare(activities=args.activities, days=args.days)
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)  # as shipped: the ALB's X-Forwarded-Proto says https
    env.update({
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "THROTTLE_RATE_USER": "100000000/hour",
        "THROTTLE_RATE_ANON": "100000000/hour",
        "THROTTLE_RATE_LOGIN": "100000/min",
    })
    count = psql(db_url, "SELECT count(*) FROM activities_activity a JOIN accounts_user u ON u.id = a.user_id "
                         "WHERE u.username = 'demo' AND a.deleted_at IS NULL")[0][0]
    if count != args.activities:
        raise SystemExit(f"the demo user has {count} activities, expected {args.activities}: drop the database "
                         f"{db_url} and run again")
    psql(db_url, "VACUUM ANALYZE")
    log(f"data ready: {count} activities over {args.days} days, VACUUM ANALYZE done "
        f"({time.perf_counter() - started:.1f} s)")
    return env, db_url


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(rounds: list[dict], sql: dict) -> dict:
    table = {}
    for name in NAMES:
        runs = [r[name] for r in rounds if name in r]
        if not runs:
            continue
        table[name] = {
            "rps": median([r["rps"] for r in runs]),
            "rps_range": [min(r["rps"] for r in runs), max(r["rps"] for r in runs)],
            "p50_ms": median([r["p50_ms"] for r in runs]),
            "p99_ms": median([r["p99_ms"] for r in runs]),
            "errors": sum(r["errors"] for r in runs),
            "unexpected": sum(r["unexpected"] for r in runs),
            "sql": sql.get(name),
            "rss_mib": median([r["rss_mib"] for r in runs]),
            "busiest_worker_conn_share": median([r["busiest_worker_conn_share"] for r in runs]),
            "busiest_worker_cpu_share": median([r["busiest_worker_cpu_share"] for r in runs]),
            "cores_gunicorn": median([r["cores_gunicorn"] for r in runs]),
            "cores_postgres": median([r["cores_postgres"] for r in runs]),
            "worker_boots": sum(r["worker_boots"] for r in runs),
            "cores_other_max": max(r["cores_other"] for r in runs),
            "runs": len(runs),
        }
    return table


def markdown(table: dict, meta: dict) -> str:
    ceiling = table.get("ceiling-items", {}).get("rps")
    ceiling_db = table.get("ceiling-select", {}).get("rps")
    describe = {e[0]: e[6] for e in ENDPOINTS}
    lines = [
        f"{meta['activities']:,} activities / {meta['days']} days, gunicorn {meta['worker_class']} "
        f"{meta['workers']}x{meta['threads']} (max_requests {meta['max_requests']}), "
        f"`wrk -t{meta['threads_wrk']} -c{meta['connections']} -d{meta['duration']}` after {meta['warmup']} warm-up, "
        f"medians of {meta['runs']} round(s), {meta['cpus']} CPUs shared by wrk + gunicorn + PostgreSQL + Redis",
        "",
        "| endpoint | req/s (min-max) | p50 ms | p99 ms | errors | SQL/req | RSS MiB | of ceiling | "
        "busiest worker: conns / CPU | cores gunicorn + pg | worker boots | other cores (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        lo, hi = row["rps_range"]
        ref = ceiling_db if name in ("stats-cold",) else ceiling
        of = f"{row['rps'] / ref:.0%}" if ref and not name.startswith("ceiling") and name != "live" else "-"
        conn = row["busiest_worker_conn_share"]
        cpu = row["busiest_worker_cpu_share"]
        errors = row["errors"] + row["unexpected"]
        sql = "-" if row["sql"] is None else str(row["sql"])
        lines.append(
            f"| {name} ({describe[name]}) | {row['rps']:,.1f} ({lo:,.0f}-{hi:,.0f}) | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {errors} | {sql} | {row['rss_mib']:.0f} | {of} | "
            f"{'-' if conn is None else f'{conn:.0%}'} / {'-' if cpu is None else f'{cpu:.0%}'} | "
            f"{row['cores_gunicorn']:.2f} + {row['cores_postgres']:.2f} | {row['worker_boots']} | "
            f"{row['cores_other_max']:.2f} |"
        )
    lines += ["", "\"of ceiling\": req/s as a fraction of the bare DRF view with 20 static items (cold statistics: "
              "of the bare `SELECT 1` view). Errors: non-2xx + socket errors (+ responses without the expected "
              "X-Cache). SQL/req: Django test client + CaptureQueriesContext, same settings and credentials "
              "(ceiling: 0 and 1 by construction). Worker boots: recycling during the measured runs, all rounds."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="rounds; the table gives the medians (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke check: -d5s, 1 s warm-up, 1 round")
    parser.add_argument("--duration", default="20s", help="wrk -d of each measured run (default 20s)")
    parser.add_argument("--warmup", default="3s", help="wrk run before each measured run (default 3s; 0: none)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--endpoints", nargs="+", choices=NAMES, default=NAMES, metavar="NAME",
                        help=f"a subset, in the order given by the suite ({', '.join(NAMES)})")
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--wait-idle", type=float, default=60,
                        help="before each endpoint, wait at most this long for < 0.2 busy cores (default 60 s)")
    parser.add_argument("--max-other", type=float, default=0.15,
                        help="a run during which other processes used more cores than this is measured again "
                             "(default 0.15)")
    parser.add_argument("--retries", type=int, default=2, help="at most this many times (default 2)")
    parser.add_argument("--results", default=os.environ.get("BENCH_LOAD_RESULTS"),
                        help="JSON results file (default /tmp/activelog-bench-load/<UTC timestamp>.json)")
    parser.add_argument("--count-queries", help=argparse.SUPPRESS)  # internal: the child process
    args = parser.parse_args(argv)
    if args.count_queries:
        print(json.dumps(count_queries(json.loads(Path(args.count_queries).read_text()))))
        return 0
    if args.quick:
        args.duration, args.warmup, args.runs = "5s", "1s", 1
    wanted = [name for name in NAMES if name in args.endpoints]
    # Stopped with SIGTERM (or SIGINT, which a background job ignores otherwise): stop the servers too.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, frame: sys.exit(128 + signum))

    env, db_url = prepare_environment(args)
    workers = int(os.environ.get("GUNICORN_WORKERS", 2))
    servers = {"app": make_server(env, workers=workers)}
    if "stats-cold" in wanted:
        servers["cold"] = make_server({**env, "STATS_CACHE_SECONDS": "0", "CACHE_KEY_PREFIX": COLD_CACHE_PREFIX},
                                      workers=workers)
    if any(name.startswith("ceiling") for name in wanted):
        ceiling_env = {k: v for k, v in env.items() if not k.startswith(("DJANGO_", "PROMETHEUS"))}
        servers["ceiling"] = make_server(ceiling_env, app="bench.ceiling.wsgi", config="bench/ceiling/gunicorn.conf.py",
                                         ready="/items", workers=workers)
    rounds: list[dict] = []
    sql: dict = {}
    started_at = dt.datetime.now(dt.UTC)
    try:
        for server in servers.values():
            server.start()
        app = servers["app"].base
        token = get_token(app)
        cookie = get_session_cookie(app)
        middle = api(app, f"/api/v1/activities?limit=1&offset={args.activities // 2}", token=token)
        detail_id = middle["results"][0]["id"]
        body = create_body()
        paths = {e[0]: e[3].replace("{detail}", str(detail_id)) for e in ENDPOINTS}

        # SQL per request, once, outside the load.
        spec = {"token": token, "cookie": cookie, "endpoints": [
            (e[0], e[2], paths[e[0]], e[4], body) for e in ENDPOINTS if e[0] in wanted and e[1] != "ceiling"]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(spec, handle)
        out = subprocess.run([sys.executable, __file__, "--count-queries", handle.name], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        os.unlink(handle.name)
        sql = json.loads(out.stdout.strip().splitlines()[-1])
        sql.update({"ceiling-items": 0, "ceiling-select": 1})
        delete_created(db_url)  # the count's own create
        log(f"SQL per request: {sql}")

        for number in range(1, args.runs + 1):
            log(f"round {number}/{args.runs} (load average {os.getloadavg()[0]:.2f})")
            results = {}
            for name, where, method, _path, auth, expect, _ in ENDPOINTS:
                if name not in wanted:
                    continue
                server = servers[where]
                wrk_env = {"WRK_METHOD": method, "WRK_BODY": body if method == "POST" else "",
                           "WRK_EXPECT": f"X-Cache={expect}" if expect else "",
                           "WRK_ACCEPT": "text/html" if auth == "cookie" else "application/json",
                           "WRK_AUTH": f"Bearer {get_token(app)}" if auth == "token" else "",
                           "WRK_COOKIE": cookie if auth == "cookie" else ""}
                for attempt in range(1, args.retries + 2):
                    quiet = wait_quiet(args.wait_idle)
                    result = measure(server, server.base + paths[name], wrk_env, args)
                    result.update({"busy_cores_before": round(quiet, 2), "attempt": attempt})
                    if result["cores_other"] <= args.max_other or attempt > args.retries:
                        break
                    log(f"  {name}: {result['cores_other']:.2f} cores used by other processes during the run "
                        f"({result['rps']:.1f} req/s); measuring again")
                results[name] = result
                log(f"  {name:16} {result['rps']:9.1f} req/s  p50 {result['p50_ms']:7.1f}"
                    f"  p99 {result['p99_ms']:7.1f} ms"
                    f"  errors {result['errors']}{'/' + str(result['unexpected']) if result['unexpected'] else ''}"
                    f"  conns on busiest worker {result['busiest_worker_conn_share']}"
                    f"  gunicorn {result['cores_gunicorn']} + pg {result['cores_postgres']} cores"
                    f"  boots {result['worker_boots']}  RSS {result['rss_mib']:.0f} MiB  other {result['cores_other']}"
                    f"  (idle before {quiet:.2f}, attempt {result['attempt']})")
            if "create" in results:
                log(f"  deleted the {delete_created(db_url)} activities made by create")
            rounds.append(results)
    finally:
        for server in servers.values():
            server.stop()
        delete_created(db_url)

    conf = runpy_values()
    meta = {
        "started_utc": started_at.isoformat(), "activities": args.activities, "days": args.days,
        "runs": args.runs, "duration": args.duration, "warmup": args.warmup, "threads_wrk": args.threads,
        "connections": args.connections, "cpus": os.cpu_count(), "database": db_url, **conf,
        "load_average_end": os.getloadavg(), "detail_id": detail_id, "paths": paths,
    }
    table = summarize(rounds, sql)
    text = markdown(table, meta)
    print("\n" + text)
    path = Path(args.results or f"/tmp/activelog-bench-load/{started_at.strftime('%Y%m%dT%H%M%SZ')}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "sql": sql, "table": table, "rounds": rounds, "markdown": text},
                               indent=2))
    log(f"\nresults: {path}")
    return 0


def runpy_values() -> dict:
    """The gunicorn values in effect (gunicorn.conf.py with this environment)."""
    import runpy

    shipped = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {k: shipped[k] for k in ("worker_class", "workers", "threads", "keepalive", "max_requests",
                                    "max_requests_jitter")}


if __name__ == "__main__":
    raise SystemExit(main())
