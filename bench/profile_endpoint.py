"""Where one endpoint's CPU goes: cProfile over N requests in-process, production settings.

    .venv/bin/python bench/profile_endpoint.py detail --requests 2000 [--sort tottime] [--top 40]

Same data, settings and credentials as `make bench-load` (bench/load.py prepares them), requests
through Django's test client (every middleware, no gunicorn and no sockets), after 50 warm-up
requests. Prints the per-request wall time and the profile's top functions. cProfile roughly
doubles Python's cost per call; read the shares, not the absolute times.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from bench import load

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("endpoint", choices=[e[0] for e in load.ENDPOINTS if e[1] != "ceiling"])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--dump", help="also write the raw profile here (pstats format)")
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args(argv)

    env, _ = load.prepare_environment(args)
    if args.endpoint == "stats-cold":
        env = {**env, "STATS_CACHE_SECONDS": "0"}
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User
    from accounts.services import tokens_for_user
    from activities.models import Activity

    user = User.objects.get(username="demo")
    spec = next(e for e in load.ENDPOINTS if e[0] == args.endpoint)
    _, _, method, path, auth, _, _ = spec
    middle = Activity.objects.filter(user=user).order_by("-activity_date")[args.activities // 2]
    path = path.replace("{detail}", str(middle.pk))
    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.10")
    headers = {}
    if auth == "token":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {tokens_for_user(user=user)['access']}"
    elif auth == "cookie":
        client.force_login(user)
    body = load.create_body()

    def call():
        if method == "POST":
            response = client.post(path, data=body, content_type="application/json", **headers)
        else:
            response = client.get(path, **headers)
        if not 200 <= response.status_code < 300:
            raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")

    for _ in range(50):
        call()
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        call()
    plain = (time.perf_counter() - started) / args.requests * 1000
    cpu = (time.process_time() - cpu_started) / args.requests * 1000
    if args.dump:
        args.dump = str(Path(args.dump).resolve())
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        call()
    profiler.disable()
    if method == "POST":
        load.delete_created(load.DEFAULT_DATABASE_URL if "BENCH_LOAD_DATABASE_URL" not in os.environ
                            else os.environ["BENCH_LOAD_DATABASE_URL"])
    print(f"\n{args.endpoint} {path}: {plain:.2f} ms per request without the profiler "
          f"(wall, one thread, {args.requests} requests), {cpu:.2f} ms of this process's CPU\n")
    stats = pstats.Stats(profiler)
    print(f"{stats.total_calls / args.requests:,.0f} function calls per request (profiled)\n")
    if args.dump:
        stats.dump_stats(args.dump)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
