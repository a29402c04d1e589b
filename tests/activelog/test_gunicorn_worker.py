"""Keep-alive clients spread over both workers (activelog/gunicorn_worker.py).

With gunicorn's plain gthread worker, one worker held 88-100% of 16 keep-alive connections under
load and the other core idled. The production command is run here as shipped, 2 workers x 4
threads, under the same 16-connection load as `make bench-load`; the established connections are
counted per worker process with `ss` while it runs.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from bench.load import connections_per_pid
from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env

pytestmark = pytest.mark.slow

CONNECTIONS = 16


def register(base: str) -> str:
    import urllib.request

    account = {"username": "balance-user", "email": "balance@example.com", "password": "a-long-passphrase-7"}
    request = urllib.request.Request(f"{base}/api/v1/auth/register", data=json.dumps(account).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())["access"]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk comes from `make system-deps` (Debian's wrk)")
def test_sixteen_keep_alive_clients_are_spread_over_both_workers(served_database_url):
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=served_database_url, REDIS_URL="redis://127.0.0.1:6379/13",
                    THROTTLE_RATE_USER="100000000/hour",
                    THROTTLE_RATE_REGISTER="1000/min")
    with Gunicorn(env, workers=2) as server:
        token = register(server.base)
        samples: list[dict[int, int]] = []

        def sample():
            for _ in range(4):
                time.sleep(1)
                samples.append(connections_per_pid(server.port))

        sampler = threading.Thread(target=sample)
        sampler.start()
        wrk = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d5s", "-H", f"Authorization: Bearer {token}",
                              "-H", "X-Forwarded-Proto: https", f"{server.base}/api/v1/activities"],
                             capture_output=True, text=True, timeout=60, check=True)
        sampler.join()
        master = server.process.pid

    requests = int(re.search(r"(\d+) requests in", wrk.stdout).group(1))
    assert requests > 100, wrk.stdout
    assert "Non-2xx" not in wrk.stdout and "Socket errors" not in wrk.stdout, wrk.stdout
    for counts in samples:
        workers = {pid: n for pid, n in counts.items() if pid != master}
        assert sum(workers.values()) == CONNECTIONS, samples
        assert len(workers) == 2, samples  # both workers hold connections
        assert max(workers.values()) <= CONNECTIONS * 3 // 4, samples  # neither holds more than 12 of 16


def test_a_connection_is_closed_after_its_keep_alive_requests(served_database_url):
    """So that clients move again after a worker was recycled (GUNICORN_KEEPALIVE_REQUESTS)."""
    import http.client

    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=served_database_url, GUNICORN_KEEPALIVE_REQUESTS="5")
    with Gunicorn(env, workers=1) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        answers = []
        for _ in range(5):
            connection.request("GET", "/health/live")
            response = connection.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Connection")))
        assert answers[:4] == [(200, "keep-alive")] * 4
        assert answers[4] == (200, "close")
        assert connection.sock is None  # http.client closed it, as the server asked
        connection.close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk comes from `make system-deps` (Debian's wrk)")
def test_clients_spread_again_after_a_worker_is_replaced(served_database_url):
    """Every connection of a worker that exits (recycled, or killed) reconnects to the one left;
    closing connections after their keep-alive requests lets the new worker take its share."""
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=served_database_url, GUNICORN_KEEPALIVE_REQUESTS="100")
    with Gunicorn(env, workers=2) as server:
        master = server.process.pid
        samples: list[dict[int, int]] = []

        def replace_one_then_sample():
            time.sleep(2)
            first = min(pid for pid in connections_per_pid(server.port) if pid != master)
            os.kill(first, signal.SIGTERM)  # as a recycle does: the worker exits, gunicorn boots another
            time.sleep(4)
            for _ in range(4):
                time.sleep(0.5)
                samples.append(connections_per_pid(server.port))

        sampler = threading.Thread(target=replace_one_then_sample)
        sampler.start()
        subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d9s", f"{server.base}/health/live"],
                       capture_output=True, text=True, timeout=60, check=True)
        sampler.join()
        booted = [line for line in server.lines() if "Booting worker" in line]
    assert len(booted) == 3, booted  # the two workers, then the replacement
    for counts in samples:
        workers = {pid: n for pid, n in counts.items() if pid != master}
        assert len(workers) == 2, samples
        assert max(workers.values()) <= CONNECTIONS * 3 // 4, samples
