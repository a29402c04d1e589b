"""Real servers the suite starts on localhost: moto's S3, gunicorn, and tiny HTTP stubs."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "JWT_SIGNING_KEY": "test-only-jwt-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFG",
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    return free_port()


def clean_env(**overrides) -> dict:
    drop = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "AWS_STORAGE_BUCKET_NAME",
            "ECS_CONTAINER_METADATA_URI_V4", "CACHE_KEY_PREFIX"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def wait_for_http(url: str, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py <app>` as production runs it, on a free port."""

    def __init__(self, env: dict, app: str = "activelog.wsgi", workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PORT": str(self.port), "GUNICORN_WORKERS": str(workers)}
        self.app = app
        self.process: subprocess.Popen | None = None
        self.output = b""

    def start(self) -> "Gunicorn":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        wait_for_http(self.base + "/health/live", process=self.process)
        return self

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.output, _ = self.process.communicate(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.output, _ = self.process.communicate()
        return self.process.returncode if self.process else 0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def json_stub(routes: dict[str, dict]):
    """A tiny HTTP server answering GET <path> with the given JSON (e.g. ECS task metadata)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body or {}).encode())

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


@contextlib.contextmanager
def silent_server():
    """Accepts TCP connections and never answers: a hung dependency."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


@contextlib.contextmanager
def moto_s3():
    """moto's S3-compatible server on localhost, reached through the real boto3 client."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
