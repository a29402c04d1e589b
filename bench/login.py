#!/usr/bin/env python
"""Sign-in latency by password hasher: POST /api/v1/auth/login (the whole Django stack, in process)
for an account whose password is stored with PBKDF2 (Django's default, the old setting) and one
stored with Argon2id (the setting now), median of 20 each, on the benchmark database.

    .venv/bin/python bench/login.py [--runs 20]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
os.environ.setdefault("DATABASE_URL", os.environ.get("BENCH_DATABASE_URL",
                                                     "postgres://postgres@127.0.0.1:5432/activelog_bench"))
os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
os.environ.setdefault("THROTTLE_RATE_LOGIN", "100000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from tests.support.servers import migrated_database  # noqa: E402

PASSWORD = "bench-login-password-2026"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    migrated_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.test import Client

    from accounts.models import User

    print(f"| stored hash | median ms | min ms | max ms |  ({args.runs} sign-ins each)")
    print("|---|---:|---:|---:|")
    for name, hasher in (("PBKDF2-SHA256 (before)", "pbkdf2_sha256"), ("Argon2id (now)", "argon2")):
        username = f"bench-login-{hasher}"
        User.objects.filter(username=username).delete()
        user = User.objects.create(username=username, email=f"{username}@example.com",
                                   password=make_password(PASSWORD, hasher=hasher))
        client = Client()
        timings = []
        for _ in range(args.runs + 1):
            # The stored hash stays as made: Django would upgrade PBKDF2 to Argon2id at sign-in.
            User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher=hasher))
            started = time.perf_counter()
            response = client.post("/api/v1/auth/login", {"username": username, "password": PASSWORD},
                                   content_type="application/json", secure=True)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content
        timings = timings[1:]  # the first carries one-time imports
        print(f"| {name} | {statistics.median(timings):.1f} | {min(timings):.1f} | {max(timings):.1f} |")
        user.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
