"""What psycopg's compiled timestamptz loader (activelog/database.py) saves per list request.

    .venv/bin/python bench/timestamp_loader.py [--blocks 20] [--requests 200]

Same data, settings and credentials as `make bench-load` (bench/load.py prepares them). One
process, one thread: blocks of list requests through Django's test client, alternating between
Django's loader (the signal receiver disconnected, Django's loader put back on the pooled
connection) and psycopg's, so that the host's drift hits both alike. Prints the median CPU per
request of each and their difference.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from bench import load

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=20, help="blocks per loader (default 20)")
    parser.add_argument("--requests", type=int, default=200, help="requests per block (default 200)")
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args(argv)

    env, _ = load.prepare_environment(args)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from django.db.backends.signals import connection_created
    from django.test import Client
    from psycopg.pq import Format

    from accounts.models import User
    from accounts.services import tokens_for_user
    from activelog.database import UTCTimestamptzLoader, load_timestamps_natively

    user = User.objects.get(username="demo")
    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.10",
                    HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user)['access']}")

    uid = "activelog.database.load_timestamps_natively"
    timestamptz = 1184

    def pooled() -> list:
        connection.ensure_connection()
        pool = connection.pool
        connection.close()
        held = [pool.getconn() for _ in range(pool.get_stats()["pool_size"])]
        for pg in held:
            pool.putconn(pg)  # still reachable here; idle in the pool, single-threaded
        return held

    def use(native: bool) -> None:
        """psycopg's: the receiver registers it on each checkout. Django's: no receiver, and Django's
        loader back on every pooled connection."""
        if native:
            connection_created.connect(load_timestamps_natively, dispatch_uid=uid)
            return
        connection_created.disconnect(dispatch_uid=uid)
        for pg in pooled():
            register_tzloader(connection.timezone, pg)

    def loaders() -> set:
        return {pg.adapters.get_loader(timestamptz, Format.TEXT) for pg in pooled()}

    def block() -> float:
        started = time.process_time()
        for _ in range(args.requests):
            response = client.get("/api/v1/activities?limit=20")
            assert response.status_code == 200, response.status_code
        return (time.process_time() - started) / args.requests * 1000

    for native in (False, True):  # warm up both
        use(native)
        block()
    cpu = {False: [], True: []}
    for _ in range(args.blocks):
        for native in (False, True):
            use(native)
            cpu[native].append(block())
            assert (UTCTimestamptzLoader in loaders()) is native  # the mode really was in use
    django_ms, native_ms = statistics.median(cpu[False]), statistics.median(cpu[True])
    print(f"list, CPU per request, median of {args.blocks} blocks of {args.requests}: Django's loader "
          f"{django_ms:.2f} ms, psycopg's {native_ms:.2f} ms: {django_ms - native_ms:.2f} ms "
          f"({(django_ms - native_ms) / django_ms:.1%}) less")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
