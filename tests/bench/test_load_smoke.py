"""Smoke test of the load-test suite (bench/load.py): the CLI, the wrk script and the report.

Benchmarks are not unit tests: this only proves the pieces fit (a few seconds), not any figure.
"""

import contextlib
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import load
from tests.support.servers import ROOT

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")


def test_help():
    out = subprocess.run([sys.executable, "bench/load.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=30).stdout
    assert "--quick" in out and "--runs" in out


@contextlib.contextmanager
def keepalive_stub():
    """HTTP/1.1 with keep-alive, like gunicorn's gthread workers: 200 on /ok, 404 elsewhere."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b'{"ok": true}'
            self.send_response(200 if self.path == "/ok" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@needs_wrk
def test_wrk_script_counts_requests_and_every_non_2xx():
    with keepalive_stub() as base:
        ok = load.run_wrk(base + "/ok", duration="1s", threads=1, connections=2, env={"WRK_EXPECT": "X-Cache=HIT"})
        missing = load.run_wrk(base + "/missing", duration="1s", threads=1, connections=2, env={})
    assert ok["requests"] > 0 and ok["non2xx"] == 0
    assert ok["unexpected"] == ok["requests"]  # the stub sends no X-Cache header
    assert ok["socket_errors"] == 0
    assert missing["requests"] > 0 and missing["non2xx"] == missing["requests"]


def test_report_gives_medians_and_the_ratio_to_the_ceiling():
    def run(rps, **extra):
        return {"rps": rps, "p50_ms": 10.0, "p99_ms": 20.0, "errors": 0, "unexpected": 0, "rss_mib": 200.0,
                "busiest_worker_conn_share": 1.0, "busiest_worker_cpu_share": 0.8, "cores_gunicorn": 1.2,
                "cores_postgres": 0.1, "worker_boots": 0, "cores_other": 0.0, **extra}

    rounds = [{"list": run(rps), "ceiling-items": run(1000.0)} for rps in (90.0, 110.0, 100.0)]
    table = load.summarize(rounds, {"list": 4, "ceiling-items": 0})
    assert table["list"]["rps"] == 100.0 and table["list"]["rps_range"] == [90.0, 110.0]
    meta = {"activities": 2000, "days": 730, "worker_class": "gthread", "workers": 2, "threads": 4,
            "max_requests": 1000, "threads_wrk": 2, "connections": 16, "duration": "20s", "warmup": "3s",
            "runs": 3, "cpus": 2}
    text = load.markdown(table, meta)
    row = next(line for line in text.splitlines() if line.startswith("| list"))
    assert "| 100.0 (90-110) |" in row and "| 10% |" in row and "| 4 |" in row
