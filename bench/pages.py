#!/usr/bin/env python
"""Browser pages under load of history: the dashboard, the activities list and the statistics page
for one person with 100,000 activities, through the production command (gunicorn, PostgreSQL,
Redis on localhost).

    make bench-pages      # or: .venv/bin/python bench/pages.py [--activities N] [--runs N]

It prepares the database like bench/stats.py (BENCH_DATABASE_URL, BENCH_REDIS_URL), signs in
through the log-in form (CSRF included) and times each page: warm (the statistics figures cached,
as after the first view) and, for the pages with statistics, cold (Redis flushed before every
request, so the SQL is included). The load balancer's X-Forwarded-Proto: https is sent, as in
production, so the secure session cookie is used as it would be. Prints medians and 95th
percentiles in milliseconds, measured by the client on localhost (an upper bound of server time).
"""

import argparse
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import PASSWORD, percentile, prepare  # noqa: E402
from tests.support.servers import Gunicorn  # noqa: E402

PAGES = [("/dashboard", True), ("/activities", False), ("/activities?page=2500", False), ("/stats", True)]


class Browser:
    """Cookies by hand: the session cookie is Secure (production), which urllib's jar would keep
    off a plain-HTTP localhost connection."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(NoRedirect)

    def fetch(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data)
        req.add_header("X-Forwarded-Proto", "https")
        req.add_header("Referer", "https://" + urllib.parse.urlsplit(self.base).netloc + path)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(req, timeout=60)
        except urllib.error.HTTPError as error:  # redirects arrive here (NoRedirect)
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1825)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    env = prepare(activities=args.activities, days=args.days)
    import redis

    cache = redis.Redis.from_url(env["REDIS_URL"])
    server = Gunicorn(env, workers=1).start()
    rows = []
    try:
        browser = Browser(server.base)
        _, page = browser.fetch("/accounts/login")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _ = browser.fetch("/accounts/login", {"csrfmiddlewaretoken": token, "identifier": "demo",
                                                       "password": PASSWORD})
        if status != 302:
            raise SystemExit(f"log-in failed: {status}")
        for path, has_stats in PAGES:
            timings: dict[str, list[float]] = {"warm": [], "cold": []}
            browser.fetch(path)
            for mode in ("warm", "cold") if has_stats else ("warm",):
                for _ in range(args.runs):
                    if mode == "cold":
                        cache.flushdb()
                    started = time.perf_counter()
                    status, _body = browser.fetch(path)
                    timings[mode].append((time.perf_counter() - started) * 1000)
                    if status != 200:
                        raise SystemExit(f"{path}: {status}")
            rows.append((path, timings))
    finally:
        server.stop()

    print(f"\n{args.activities:,} activities, {args.runs} requests per page and mode, gunicorn gthread 1x4, "
          "PostgreSQL + Redis on localhost\n")
    print("| page | warm median ms | warm p95 ms | cold median ms | cold p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for path, t in rows:
        cold = (f"{statistics.median(t['cold']):.1f} | {percentile(t['cold'], 95):.1f}" if t["cold"] else "- | -")
        print(f"| `{path}` | {statistics.median(t['warm']):.1f} | {percentile(t['warm'], 95):.1f} | {cold} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
