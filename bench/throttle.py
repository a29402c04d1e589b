#!/usr/bin/env python
"""Cost of one throttle check against Redis when a user already has N requests in the window:
DRF's list-in-the-cache implementation versus ActiveLog's sorted set (one Lua script call).

    .venv/bin/python bench/throttle.py [--history 1000] [--checks 2000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["CACHE_KEY_PREFIX"] = "activelog-bench-throttle"

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from rest_framework import throttling  # noqa: E402

from activelog.api.throttling import ScopedIPThrottle  # noqa: E402


class DrfThrottle(throttling.SimpleRateThrottle):
    rate = "1000000/hour"

    def get_cache_key(self, request, view):
        return "bench-drf-throttle"


class OurThrottle(ScopedIPThrottle):
    def __init__(self):
        self.rate = "1000000/hour"
        super().__init__("bench")


def per_check_us(make, request, checks: int) -> float:
    timings = []
    for _ in range(checks):
        started = time.perf_counter()
        assert make().allow_request(request, None)
        timings.append((time.perf_counter() - started) * 1e6)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--checks", type=int, default=2000)
    args = parser.parse_args()
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    cache.clear()
    for make in (DrfThrottle, OurThrottle):  # fill the window
        for _ in range(args.history):
            make().allow_request(request, None)
    drf = per_check_us(DrfThrottle, request, args.checks)
    ours = per_check_us(OurThrottle, request, args.checks)
    cache.clear()
    print(f"{args.history}-{args.history + args.checks} requests already in the window, median of {args.checks} checks")
    print(f"DRF list in the cache:   {drf:.0f} us per check")
    print(f"sorted-set script:       {ours:.0f} us per check ({drf / ours:.1f}x faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
