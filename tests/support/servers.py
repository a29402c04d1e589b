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
import uuid
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
    """The suite's environment without its app settings, plus ``overrides``. The cache key prefix
    is new each time unless given: the served databases are emptied (ids start again at 1) while
    Redis keeps what an earlier run cached, such as users by id (accounts/user_cache.py)."""
    drop = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "AWS_STORAGE_BUCKET_NAME",
            "ECS_CONTAINER_METADATA_URI_V4", "CACHE_KEY_PREFIX"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["CACHE_KEY_PREFIX"] = f"served-{uuid.uuid4().hex[:12]}"
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


class _OutputDrainingProcess:
    """A child process whose output is read as it comes (a full pipe would block its logging)."""

    process: subprocess.Popen | None = None
    stop_timeout = 40

    def _spawn(self, command: list[str], env: dict, cpus: set[int] | None = None,
               cgroup_procs: Path | None = None) -> None:
        """``cgroup_procs``: the child joins that cgroup (its cgroup.procs file) before it starts."""
        self._lines: list[bytes] = []

        def prepare() -> None:
            if cpus:
                os.sched_setaffinity(0, cpus)
            if cgroup_procs is not None:
                cgroup_procs.write_text(str(os.getpid()))

        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        preexec_fn=prepare if (cpus or cgroup_procs) else None)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        for line in iter(self.process.stdout.readline, b""):
            self._lines.append(line)

    def lines(self) -> list[str]:
        """Everything the process printed so far, one entry per line."""
        return [line.decode(errors="replace").rstrip("\n") for line in list(self._lines)]

    def stop(self) -> int:
        """SIGTERM, wait for a graceful exit (kill after stop_timeout); returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        self.output = b"".join(self._lines)
        return self.process.returncode


class Gunicorn(_OutputDrainingProcess):
    """`gunicorn -c gunicorn.conf.py <app>` as production runs it, on a free port."""

    def __init__(self, env: dict, app: str = "activelog.wsgi", workers: int = 2, cpus: set[int] | None = None,
                 cgroup_procs: Path | None = None):
        """``cpus``: run the server (all its processes and threads) on these CPUs only;
        ``cgroup_procs``: in that cgroup."""
        self.cpus, self.cgroup_procs = cpus, cgroup_procs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Each server its own metrics directory: gunicorn wipes it at start.
        import tempfile

        metrics_dir = tempfile.mkdtemp(prefix="activelog-test-prometheus-")
        self.env = {"PROMETHEUS_MULTIPROC_DIR": metrics_dir, **env, "PORT": str(self.port),
                    "GUNICORN_WORKERS": str(workers)}
        self.app = app
        self.output = b""

    def start(self) -> "Gunicorn":
        self._spawn([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app], self.env, self.cpus,
                    self.cgroup_procs)
        wait_for_http(self.base + "/health/live", process=self.process)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]):
    """Run an HTTP handler class on a free localhost port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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

    with _serve(Handler) as base:
        yield base


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


class Program(_OutputDrainingProcess):
    """Any command as a separate process from the repository root, its output drained like Gunicorn's;
    the command is looked up on the PATH of ``env``, as a container's command is."""

    def __init__(self, command: list[str], env: dict, stop_timeout: float = 30):
        self.command = command
        self.env = env
        self.stop_timeout = stop_timeout

    def __enter__(self) -> "Program":
        self._spawn(self.command, self.env)
        return self

    def __exit__(self, *exc):
        self.stop()


class CeleryWorker(_OutputDrainingProcess):
    """`celery -A activelog worker` as a separate process, its output drained like Gunicorn's."""

    def __init__(self, env: dict, concurrency: int = 1, cgroup_procs: Path | None = None):
        self.env = env
        self.concurrency = concurrency
        self.cgroup_procs = cgroup_procs
        self.stop_timeout = 30

    def __enter__(self) -> "CeleryWorker":
        self._spawn([sys.executable, "-m", "celery", "-A", "activelog", "worker", "--loglevel", "INFO",
                     "--concurrency", str(self.concurrency), "--without-gossip", "--without-mingle",
                     "--without-heartbeat"], self.env, cgroup_procs=self.cgroup_procs)
        return self

    def __exit__(self, *exc):
        self.stop()


class ReceivedSpans:
    """Spans an OTLP receiver got, decoded on first look (decoding while a benchmark runs would
    take CPU from the server being measured; a real collector runs elsewhere)."""

    def __init__(self):
        self._bodies: list[bytes] = []
        self._spans: list[dict] = []
        self._lock = threading.Lock()

    def add(self, body: bytes) -> None:
        with self._lock:
            self._bodies.append(body)

    def _decode_pending(self) -> list[dict]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        def value_of(any_value):
            kind = any_value.WhichOneof("value")
            if kind == "array_value":
                return [value_of(v) for v in any_value.array_value.values]
            if kind == "kvlist_value":
                return {kv.key: value_of(kv.value) for kv in any_value.kvlist_value.values}
            return getattr(any_value, kind) if kind else None

        with self._lock:
            bodies, self._bodies = self._bodies, []
            for body in bodies:
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource_spans in request.resource_spans:
                    resource = {a.key: value_of(a.value) for a in resource_spans.resource.attributes}
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            self._spans.append({
                                "service": resource.get("service.name"),
                                "name": span.name,
                                "kind": span.kind,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex() or None,
                                "attributes": {a.key: value_of(a.value) for a in span.attributes},
                                "status": span.status.code,
                            })
            return list(self._spans)

    def __iter__(self):
        return iter(self._decode_pending())

    def __len__(self) -> int:
        return len(self._decode_pending())


@contextlib.contextmanager
def otlp_receiver():
    """An OTLP/HTTP trace receiver on localhost: answers like a collector, keeps what it got."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    spans = ReceivedSpans()
    response_body = ExportTraceServiceResponse().SerializeToString()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            spans.add(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(response_body)))
            self.end_headers()
            self.wfile.write(response_body)

        def log_message(self, *args):
            pass

    with _serve(Handler) as base:
        yield base, spans


def migrated_database(url: str, *, empty: bool = False) -> str:
    """Create the PostgreSQL database of ``url`` if missing, migrate it (and empty it when asked),
    for app processes started outside the suite's own test database. Returns ``url``."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                         password=parsed.password, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = clean_env(DATABASE_URL=url, DJANGO_DEBUG="false")
    commands = [["migrate", "--noinput", "-v0"], *([["flush", "--noinput", "-v0"]] if empty else [])]
    for command in commands:
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    return url


def collect_static(root: Path, database_url: str = "postgres://postgres@127.0.0.1:5432/postgres") -> Path:
    """`manage.py collectstatic` into ``root`` with the production profile, as the image build does:
    a production server renders pages with the hashed names of its manifest, so one that serves
    pages needs DJANGO_STATIC_ROOT=root. Returns ``root``."""
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=database_url, DJANGO_STATIC_ROOT=str(root))
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    return root
