"""Keep-alive clients spread over both workers (activelog/gunicorn_worker.py).

With gunicorn's plain gthread worker, one worker held 88-100% of 16 keep-alive connections under
load and the other core idled. The production command is run here as shipped, 2 workers x 4
threads, under the same 16-connection load as `make bench-load`; the established connections are
counted per worker process with `ss` while it runs.
"""

import json
import re
import shutil
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
