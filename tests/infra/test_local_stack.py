"""docker-compose.yml, checked by parsing (there is no Docker engine here) and by running the pieces
that can run without one: the settings under the compose environment, the web health check
command, the bucket-creating one-shot and the app's media storage against moto's S3 server (the
image the stack runs as s3), and the PostgreSQL init script against the suite's PostgreSQL.
"""

import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
LOCAL_PROMETHEUS_CONFIG = ROOT / "infra" / "prometheus" / "prometheus.local.yml"
COLLECTOR_CONFIG = ROOT / "infra" / "otel" / "collector.yaml"
GRAFANA_PROVIDERS = ROOT / "infra" / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
GRAFANA_DATASOURCES = ROOT / "infra" / "grafana" / "provisioning" / "datasources"  # every *.yml in it
REQUIREMENTS_DEV = ROOT / "requirements-dev.txt"

APP_SERVICES = ("web", "worker", "migrate")
IMAGE_SERVICES = (*APP_SERVICES, "createbuckets")  # every service running the app image
EXPECTED_SERVICES = {
    *IMAGE_SERVICES, "postgres", "redis", "s3", "postgres-exporter", "redis-exporter", "otel-collector", "jaeger",
    "prometheus", "grafana",
}
# Prometheus' current long-term-support line (prometheus.io/docs/introduction/release-cycle): 2.53
# ended 2025-07-31, 3.5 ended 2026-07-31, 3.13 is supported until July 2027.
PROMETHEUS_LTS = "3.13"
EXPECTED_IMAGES = {
    "postgres": "postgres:16.",  # RDS runs PostgreSQL 16 (infra/terraform, family postgres16)
    "redis": "redis:7.",
    "s3": "motoserver/moto:",
    "postgres-exporter": "quay.io/prometheuscommunity/postgres-exporter:",
    "redis-exporter": "oliver006/redis_exporter:",
    "otel-collector": "otel/opentelemetry-collector-contrib:",
    "jaeger": "jaegertracing/jaeger:2.",  # v2; the v1 all-in-one image is end of life
    "prometheus": f"prom/prometheus:v{PROMETHEUS_LTS}.",
    "grafana": "grafana/grafana:",
}
# A released version, all of it: no `latest`, no floating `16` or `7.2`. PostgreSQL numbers its
# releases major.minor (16.15); everything else here major.minor.patch. A variant may follow.
EXACT_TAG = re.compile(r"v?\d+\.\d+\.\d+(-[a-z0-9.]+)?")
EXACT_POSTGRES_TAG = re.compile(r"\d+\.\d+(-[a-z0-9.]+)?")
# What infra/prometheus/prometheus.local.yml scrapes: the same exporters as production.
EXPECTED_SCRAPE_TARGETS = {
    "web:8080", "worker:9808", "postgres-exporter:9187", "redis-exporter:9121", "localhost:9090",
}
# Ports images listen on when their command does not say (the exporters' commands do).
IMAGE_DEFAULT_PORTS = {"prom/prometheus": 9090}

# Variables the app services may set although no ActiveLog code reads them: standard variables
# that a library reads by itself.
SDK_VARIABLES = {
    "AWS_ACCESS_KEY_ID": "botocore's credential chain (boto3, django-storages)",
    "AWS_SECRET_ACCESS_KEY": "botocore's credential chain (boto3, django-storages)",
    "OTEL_SERVICE_NAME": "opentelemetry-sdk Resource.create()",
    "OTEL_RESOURCE_ATTRIBUTES": "opentelemetry-sdk Resource.create()",
}
# Set by compose for settings that are being implemented (issue 6 and the storage/worker work).
# Each is an expected failure until the app reads it; strict, so that the entry must be removed
# here once it does (and the check then guards it like every other name).
NOT_READ_YET: dict[str, str] = {}


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict:
    return compose()["services"]


def environment(service: str) -> dict[str, str]:
    env = services()[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def app_environment_names() -> list[str]:
    return sorted({name for service in APP_SERVICES for name in environment(service)})


# --- what the app reads -------------------------------------------------------------------------

_ENV_CALL = re.compile(
    r"""(?:\benv(?:\.\w+)?|\bos\.environ\.get|\bos\.getenv|\bos\.environ\.setdefault|\brequired|\b_\w+)"""
    r"""\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
_ENV_INDEX = re.compile(r"""\bos\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")


def app_source_files() -> list[Path]:
    """gunicorn.conf.py, manage.py and every first-party package (not tests, scripts or the benchmark)."""
    files = [ROOT / name for name in ("gunicorn.conf.py", "manage.py") if (ROOT / name).exists()]
    for package in sorted(p.parent for p in ROOT.glob("*/__init__.py")):
        if package.name in {"tests", "scripts", "bench", "infra"}:
            continue
        files.extend(path for path in sorted(package.rglob("*.py")) if "migrations" not in path.parts)
    return files


def names_read_in(source: str) -> set[str]:
    return set(_ENV_CALL.findall(source)) | set(_ENV_INDEX.findall(source))


def names_read_by_app() -> set[str]:
    return set().union(*(names_read_in(path.read_text()) for path in app_source_files()))


def test_the_environment_scanner_finds_reads_and_only_reads():
    source = """
        A = env.str("DJANGO_SECRET_KEY", default="x")
        B = env.db_url("DATABASE_URL")
        C = required("JWT_SIGNING_KEY")
        D = os.environ.get('PORT', '8080')
        E = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
        F = _int("GUNICORN_WORKERS", 2)
        G = os.getenv("CELERY_BROKER_URL")
        H = print("NOT_A_SETTING")
        I = env.str(f"THROTTLE_RATE_{scope}")
    """
    assert names_read_in(source) == {
        "DJANGO_SECRET_KEY", "DATABASE_URL", "JWT_SIGNING_KEY", "PORT", "OTEL_EXPORTER_OTLP_ENDPOINT",
        "GUNICORN_WORKERS", "CELERY_BROKER_URL",
    }
    assert (ROOT / "activelog" / "settings" / "security.py") in app_source_files()
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DJANGO_SECRET_KEY"} <= names_read_by_app()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(strict=True, reason=f"not read by the app yet: {NOT_READ_YET[name]}")
            if name in NOT_READ_YET
            else (),
        )
        for name in app_environment_names()
    ],
)
def test_every_app_environment_variable_is_read_by_the_app(name):
    assert name in names_read_by_app() or name in SDK_VARIABLES, (
        f"docker-compose.yml sets {name}, but nothing in {', '.join(p.name for p in app_source_files()[:3])}... "
        "reads it (a typo, or a setting that does not exist)"
    )


def test_the_exception_lists_only_name_variables_compose_sets():
    assert set(SDK_VARIABLES) <= set(app_environment_names())


def test_settings_load_under_the_compose_environment(tmp_path):
    """The production profile starts with exactly the variables compose gives the app (no DB needed)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **environment("web")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)  # the container's tmpfs /tmp
    env["DJANGO_SETTINGS_MODULE"] = "activelog.settings"
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'ssl': s.SECURE_SSL_REDIRECT, "
        "'hsts': s.SECURE_HSTS_SECONDS, 'db_host': s.DATABASES['default']['HOST'], "
        "'cache': s.CACHES['default']['LOCATION'], 'engine': s.DATABASES['default']['ENGINE']}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = yaml.safe_load(result.stdout.strip().splitlines()[-1])
    assert loaded == {
        "debug": False, "hosts": ["localhost", "127.0.0.1", "web"], "ssl": False, "hsts": 0,
        "db_host": "postgres", "cache": "redis://redis:6379/0", "engine": "django_prometheus.db.backends.postgresql",
    }
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


# --- services, images, commands -----------------------------------------------------------------


def test_expected_services_and_images():
    defined = services()
    assert EXPECTED_SERVICES <= set(defined), sorted(EXPECTED_SERVICES - set(defined))
    for name, prefix in EXPECTED_IMAGES.items():
        image = defined[name]["image"]
        assert image.startswith(prefix), f"{name}: {image}, expected {prefix}…"


def test_every_image_is_pinned_to_an_exact_version():
    for name, service in services().items():
        image = service["image"]
        if "build" in service:
            assert image == "activelog:local", f"{name}: the locally built app image"
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        pattern = EXACT_POSTGRES_TAG if repository == "postgres" else EXACT_TAG
        assert pattern.fullmatch(tag), f"{name}: pin an exact released version, not {image}"


def test_the_tag_checks_refuse_floating_tags():
    for tag in ("latest", "7", "7-alpine", "7.2", "7.2-alpine", "2", "v3", "v3.13", "0.160", "16.15.x"):
        assert not EXACT_TAG.fullmatch(tag), tag
    for tag in ("7.2.15-alpine", "v3.13.3", "0.160.0", "2.21.0", "v0.20.1", "13.3.2"):
        assert EXACT_TAG.fullmatch(tag), tag
    assert EXACT_POSTGRES_TAG.fullmatch("16.15-alpine")
    for tag in ("16", "16-alpine", "latest", "alpine"):
        assert not EXACT_POSTGRES_TAG.fullmatch(tag), tag


def test_no_minio_left():
    """MinIO stopped publishing images; the stack's S3 is moto's server."""
    for path in (COMPOSE_FILE, COLLECTOR_CONFIG):
        assert "minio" not in path.read_text().lower(), path.name
    assert "minio" not in set(services()) | set(compose().get("volumes", {}))


def test_s3_runs_the_moto_version_the_suite_pins():
    """One moto: the createbuckets and storage tests below run the pinned package; the stack, its image."""
    pinned = re.search(r"^moto(?:\[[\w,]+\])?==([\w.]+)", REQUIREMENTS_DEV.read_text(), re.M)
    assert pinned, "requirements-dev.txt pins moto"
    assert services()["s3"]["image"] == f"motoserver/moto:{pinned[1]}"


def test_jaeger_is_v2():
    image = services()["jaeger"]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository == "jaegertracing/jaeger" and tag.split(".")[0] == "2", image
    env = environment("jaeger")
    assert not {"COLLECTOR_OTLP_ENABLED", "SPAN_STORAGE_TYPE"} & set(env), "v1 settings; v2 ignores them"
    assert env.get("JAEGER_LISTEN_HOST") == "0.0.0.0", "v2 listens on localhost only unless told"


def test_prometheus_is_the_current_lts_line():
    tag = services()["prometheus"]["image"].rpartition(":")[2]
    assert tag.startswith(f"v{PROMETHEUS_LTS}."), tag


def test_app_image_services_share_one_build_of_the_repository():
    defined = services()
    builds = {name: defined[name]["build"] for name in IMAGE_SERVICES}
    images = {name: defined[name]["image"] for name in IMAGE_SERVICES}
    assert len({yaml.safe_dump(b) for b in builds.values()}) == 1, builds
    assert len(set(images.values())) == 1, images
    build = builds["web"]
    context = build if isinstance(build, str) else build["context"]
    assert context == "."
    assert (ROOT / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")).exists()


def test_app_commands():
    defined = services()
    assert defined["web"]["command"] == ["gunicorn", "-c", "gunicorn.conf.py", "activelog.wsgi"]
    assert defined["worker"]["command"] == [
        "celery", "-A", "activelog", "worker", "--loglevel", "INFO", "--concurrency", "2",
    ]
    assert defined["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert defined["migrate"].get("restart") == "no"
    assert defined["createbuckets"].get("restart") == "no"


def test_app_containers_mirror_the_task_definition_shape():
    """Read-only root with a writable /tmp (multiprocess metrics dir, gunicorn heartbeat), like ECS."""
    for name in ("web", "worker"):
        service = services()[name]
        assert service.get("read_only") is True, name
        assert "/tmp" in service.get("tmpfs", []), name
        # Multiprocess metrics: gunicorn's workers, Celery's pool processes.
        assert environment(name)["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/"), name
    # stop_grace_period above gunicorn's graceful_timeout, or compose SIGKILLs in-flight requests.
    graceful = int(re.search(r'GUNICORN_GRACEFUL_TIMEOUT",\s*(\d+)', (ROOT / "gunicorn.conf.py").read_text())[1])
    assert int(services()["web"]["stop_grace_period"].removesuffix("s")) > graceful


def test_app_services_agree_on_shared_settings():
    shared = ("DJANGO_ENV", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME",
              "AWS_S3_ENDPOINT_URL", "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT")
    for name in shared:
        values = {environment(service).get(name) for service in APP_SERVICES}
        assert len(values) == 1 and None not in values, f"{name}: {values}"
    assert {environment(s)["OTEL_SERVICE_NAME"] for s in APP_SERVICES} == {
        "activelog-web", "activelog-worker", "activelog-migrate",
    }


def test_local_secrets_are_long_and_not_the_development_defaults():
    env = environment("web")
    settings = "".join(path.read_text() for path in sorted((ROOT / "activelog" / "settings").glob("*.py")))
    for name in ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "METRICS_TOKEN"):
        assert len(env[name]) >= 32, name
        assert env[name] not in settings, f"{name} reuses a development default"
        assert env[name].startswith("local-only-"), f"{name} should say it is for the local stack only"
    assert env["DJANGO_SECRET_KEY"] != env["JWT_SIGNING_KEY"]


def test_backing_services_match_the_app_urls():
    env = environment("web")
    db = urlparse(env["DATABASE_URL"])
    pg = environment("postgres")
    assert (db.scheme, db.hostname, db.port) == ("postgres", "postgres", 5432)
    assert (db.username, db.password, db.path.lstrip("/")) == (
        pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"],
    )
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        url = urlparse(env[name])
        assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379), name
    assert env["REDIS_URL"] != env["CELERY_BROKER_URL"], "cache and broker in separate Redis databases"
    s3 = urlparse(env["AWS_S3_ENDPOINT_URL"])
    moto_port = int(environment("s3").get("MOTO_PORT", "5000"))  # moto's default
    assert (s3.scheme, s3.hostname, s3.port) == ("http", "s3", moto_port)
    # Presigned links carry the endpoint: with "127.0.0.1 s3" in /etc/hosts they open from this
    # machine only if the host port is the same.
    assert (moto_port, moto_port) in [(h, c) for _, h, c in _published("s3")]
    assert '"127.0.0.1 s3"' in COMPOSE_FILE.read_text().split("\nname:")[0]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"], "botocore signs with them; moto takes any"
    buckets = environment("createbuckets")
    for name, value in buckets.items():
        assert env[name] == value, f"createbuckets and the app disagree on {name}"
    otel = urlparse(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert (otel.scheme, otel.hostname, otel.port) == ("http", "otel-collector", 4318)
    assert "CLOUDWATCH_LOG_GROUP" not in env, "logs stay on stdout locally"


def _postgres_init_scripts() -> list[Path]:
    (source,) = [src for src, target in _volumes("postgres") if target == "/docker-entrypoint-initdb.d"]
    assert source.startswith("./"), "the init scripts come from the repository"
    return sorted((ROOT / source).glob("*.sql"))


def test_postgres_preloads_pg_stat_statements_and_creates_the_extension_at_init():
    command = services()["postgres"]["command"]
    assert command[0] == "postgres", "the image's entrypoint runs the init scripts, then this"
    settings = [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "-c"]
    assert "shared_preload_libraries=pg_stat_statements" in settings
    assert "pg_stat_statements.track=all" in settings
    scripts = _postgres_init_scripts()
    assert [s.name for s in scripts] == ["01-pg-stat-statements.sql"]
    assert re.search(r"^CREATE EXTENSION IF NOT EXISTS pg_stat_statements;", scripts[0].read_text(), re.M)
    # Init scripts run on an empty volume only: the compose file says what to do on an old one.
    assert "only when it initialises an empty data volume" in COMPOSE_FILE.read_text()


def test_postgres_init_script_runs_on_postgresql():
    """The script itself, on the suite's PostgreSQL server (its maintenance database, which exists
    whether or not the suite's database does), in a transaction rolled back afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("DATABASE_URL is not PostgreSQL")
    import psycopg

    with psycopg.connect(url, dbname="postgres", connect_timeout=10) as connection:
        available = connection.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
        ).fetchone()
        if not available:
            pytest.skip("pg_stat_statements is not installed on this PostgreSQL")
        try:
            for script in _postgres_init_scripts():
                connection.execute(script.read_text())
            installed = connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
            assert installed.fetchone()
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("creating the extension needs a superuser (the compose POSTGRES_USER is one)")
        finally:
            connection.rollback()


def test_postgres_exporter_reads_the_compose_postgres_with_stat_statements():
    dsn = urlparse(environment("postgres-exporter")["DATA_SOURCE_NAME"])
    pg = environment("postgres")
    assert (dsn.scheme, dsn.hostname, dsn.port) == ("postgresql", "postgres", 5432)
    assert (dsn.username, dsn.password, dsn.path.lstrip("/")) == (
        pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"],
    )
    command = services()["postgres-exporter"]["command"]
    assert "--collector.stat_statements" in command
    assert "--collector.stat_statements.include_query" in command, "the statements' text for the dashboards"
    assert not [arg for arg in command if arg.startswith("--extend.query-path")], "stat_statements twice"
    assert _depends_on("postgres-exporter")["postgres"] == "service_healthy"


def test_redis_exporter_reads_the_compose_redis():
    url = urlparse(environment("redis-exporter")["REDIS_ADDR"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
    assert _depends_on("redis-exporter")["redis"] == "service_healthy"


def test_compose_interpolation_only_where_intended():
    """Compose expands $VAR everywhere (the inline Python too): only ${VAR:-default} is intended."""
    text = COMPOSE_FILE.read_text()
    for match in re.finditer(r"\$(?!\$)", text):
        assert re.match(r"\$\{[A-Z_]+:-[^}]*\}", text[match.start():]), text[match.start() - 40:match.start() + 40]


# --- health checks and start order --------------------------------------------------------------


def _healthcheck(service: str) -> list[str]:
    test = services()[service]["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] in {"CMD", "CMD-SHELL"}, f"{service}: {test}"
    return test


def test_backing_service_healthchecks():
    assert "pg_isready" in " ".join(_healthcheck("postgres"))
    assert _healthcheck("redis")[1:] == ["redis-cli", "ping"]
    assert "/-/ready" in " ".join(_healthcheck("prometheus"))


def test_web_healthcheck_uses_python_against_the_liveness_path():
    test = _healthcheck("web")
    assert test[:3] == ["CMD", "python", "-c"], test
    command = " ".join(test)
    assert "curl" not in command and "wget" not in command, "the slim image has neither"
    assert "http://127.0.0.1:8080/health/live" in test[3]
    assert "/health\"" not in command and "/health'" not in command, "never the deep check"


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path == "/health/live" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_web_healthcheck_command_really_probes(status, healthy):
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code = _healthcheck("web")[3].replace("127.0.0.1:8080", f"127.0.0.1:{server.server_address[1]}")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy, result.stderr


def test_web_healthcheck_fails_when_nothing_listens():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = _healthcheck("web")[3].replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode != 0


def _depends_on(service: str) -> dict[str, str]:
    deps = services()[service].get("depends_on", {})
    assert isinstance(deps, dict), f"{service}: depends_on needs conditions, not a bare list"
    return {name: spec["condition"] for name, spec in deps.items()}


def test_start_order_conditions():
    for name in ("web", "worker"):
        deps = _depends_on(name)
        assert deps["migrate"] == "service_completed_successfully", name
        assert deps["createbuckets"] == "service_completed_successfully", name
        assert deps["postgres"] == "service_healthy", name
        assert deps["redis"] == "service_healthy", name
        assert "otel-collector" in deps, name
    assert _depends_on("migrate")["postgres"] == "service_healthy"
    assert _depends_on("grafana")["prometheus"] == "service_healthy"
    assert _depends_on("otel-collector")["jaeger"] in {"service_started", "service_healthy"}


def test_dependencies_exist_have_healthchecks_where_required_and_have_no_cycle():
    defined = services()
    graph = {name: _depends_on(name) for name in defined}
    for name, deps in graph.items():
        for dep, condition in deps.items():
            assert dep in defined, f"{name} depends on unknown {dep}"
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert "healthcheck" in defined[dep], f"{name} waits for {dep} to be healthy; it has no check"
            if condition == "service_completed_successfully":
                assert defined[dep].get("restart", "no") == "no", f"{dep} is a one-shot"
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(node: str) -> None:
        assert node not in visiting, f"dependency cycle through {node}"
        if node in done:
            return
        visiting.add(node)
        for dep in graph[node]:
            visit(dep)
        visiting.discard(node)
        done.add(node)

    for name in graph:
        visit(name)


# --- volumes and ports --------------------------------------------------------------------------


def _volumes(service: str) -> list[tuple[str, str]]:
    mounts = []
    for volume in services()[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts.append((source, target))
    return mounts


def test_named_volumes_are_declared_and_bind_mounts_exist():
    declared = set(compose().get("volumes", {}))
    used = set()
    for name in services():
        for source, _ in _volumes(name):
            if source.startswith(("./", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                used.add(source)
    assert used == declared, f"declared {sorted(declared)}, used {sorted(used)}"
    assert ("postgres-data", "/var/lib/postgresql/data") in _volumes("postgres")


def _declared_ports(service: str) -> set[int]:
    """Container ports the service declares: published ones and ``expose`` (compose network only)."""
    exposed = {int(str(port).split("/")[0]) for port in services()[service].get("expose", [])}
    return exposed | {container for _, _, container in _published(service)}


def listening_port(service: str) -> int:
    """The port the service's own configuration makes its process listen on."""
    command = services()[service].get("command") or []
    flags = [m[1] for arg in command if (m := re.fullmatch(r"--?web\.listen-address=[^:]*:(\d+)", str(arg)))]
    if flags:
        return int(flags[-1])
    env = environment(service)
    for name in ("CELERY_METRICS_PORT", "PORT"):  # the worker's metrics; gunicorn's bind (gunicorn.conf.py)
        if name in env:
            return int(env[name])
    repository = services()[service].get("image", "").rpartition(":")[0]
    assert repository in IMAGE_DEFAULT_PORTS, f"{service}: cannot tell which port it listens on"
    return IMAGE_DEFAULT_PORTS[repository]


def _published(service: str) -> list[tuple[str, int, int]]:
    published = []
    for port in services()[service].get("ports", []):
        parts = str(port).split(":")
        assert len(parts) == 3, f"{service}: bind {port} to 127.0.0.1 explicitly"
        published.append((parts[0], int(parts[1]), int(parts[2].split("/")[0])))
    return published


def test_published_ports_are_local_only_unique_and_documented():
    header = COMPOSE_FILE.read_text().split("\nname:")[0]
    seen = set()
    for name in services():
        for host, host_port, container_port in _published(name):
            assert host == "127.0.0.1", f"{name} publishes on {host}"
            assert host_port not in seen, f"host port {host_port} used twice"
            seen.add(host_port)
            assert re.search(rf"\b{host_port}\s+->\s+{container_port}\b", header), (
                f"{name}: {host_port} -> {container_port} is not in the header's port table"
            )
        if _published(name):
            assert re.search(rf"^#\s+{re.escape(name)}\s", header, re.M), f"{name} missing from the port table"
    web = _published("web")
    assert (8080, 8080) in [(h, c) for _, h, c in web]
    assert "8080" in (ROOT / "gunicorn.conf.py").read_text()


# --- Prometheus, Grafana, the collector ---------------------------------------------------------


def test_prometheus_mounts_the_local_config_and_rules():
    mounts = dict(_volumes("prometheus"))
    assert mounts["./infra/prometheus/prometheus.local.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./infra/prometheus/rules"] == "/etc/prometheus/rules"
    command = services()["prometheus"].get("command", [])
    assert "--config.file=/etc/prometheus/prometheus.yml" in command


def scrape_targets() -> dict[str, list[str]]:
    config = yaml.safe_load(LOCAL_PROMETHEUS_CONFIG.read_text())
    return {
        job["job_name"]: [target for sc in job.get("static_configs", []) for target in sc["targets"]]
        for job in config["scrape_configs"]
    }


def _prometheus_service() -> str:
    (name,) = [n for n in services() if "./infra/prometheus/prometheus.local.yml" in dict(_volumes(n))]
    return name


def test_local_prometheus_scrapes_exactly_the_local_stack():
    """The exporters production has: the app, the worker, PostgreSQL, Redis, Prometheus itself."""
    targets = [target for job in scrape_targets().values() for target in job]
    assert sorted(targets) == sorted(EXPECTED_SCRAPE_TARGETS)


@pytest.mark.parametrize("target", sorted(EXPECTED_SCRAPE_TARGETS))
def test_expected_scrape_target_is_a_service_listening_on_that_port(target):
    host, port = target.rsplit(":", 1)
    service = _prometheus_service() if host == "localhost" else host  # localhost: Prometheus' own container
    assert service in services(), f"{target}: no service {service}"
    assert listening_port(service) == int(port), f"{target}: {service} listens on {listening_port(service)}"
    assert int(port) in _declared_ports(service), f"{service}: declare {port} in ports or expose"


def test_every_configured_scrape_target_is_a_service_listening_on_that_port():
    for job, targets in scrape_targets().items():
        for target in targets:
            host, port = target.rsplit(":", 1)
            service = _prometheus_service() if host == "localhost" else host
            assert service in services(), f"job {job}: {target} is not a compose service"
            assert listening_port(service) == int(port), f"job {job}: {service} listens on {listening_port(service)}"


def test_the_worker_serves_its_metrics_on_the_compose_network_only():
    env = environment("worker")
    port = int(env["CELERY_METRICS_PORT"])
    assert port in _declared_ports("worker") and not _published("worker")
    assert scrape_targets().get("activelog-worker") == [f"worker:{port}"], "the worker's scrape job"


def test_local_prometheus_scrapes_web_with_the_web_token():
    config = yaml.safe_load(LOCAL_PROMETHEUS_CONFIG.read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "activelog-web"]
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == ["web:8080"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["authorization"]["credentials"] == environment("web")["METRICS_TOKEN"]
    host, port = targets[0].split(":")
    assert host in services() and (8080, int(port)) in [(c, c) for _, _, c in _published(host)]
    # Rule files resolve relative to the mounted config: rules/ beside it in the container.
    assert config["rule_files"] == ["rules/*.yml"]


def test_grafana_is_provisioned_from_the_repository():
    mounts = dict(_volumes("grafana"))
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = yaml.safe_load(GRAFANA_PROVIDERS.read_text())["providers"]
    dashboards_path = providers[0]["options"]["path"]
    assert mounts["./infra/grafana/dashboards"] == dashboards_path
    env = environment("grafana")
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_path + "/")
    assert (ROOT / "infra" / "grafana" / "dashboards" / home.removeprefix(dashboards_path + "/")).exists()
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false", "no anonymous access, as in production"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-admin}"


def _grafana_expand(value: str, env: dict[str, str]) -> str:
    """Grafana's provisioning files expand $VAR and ${VAR} from its environment."""
    def expand(match: re.Match) -> str:
        name = match[1] or match[2]
        assert name in env, f"the provisioning reads {name}; the grafana service does not set it"
        return env[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", expand, value)


def test_grafana_data_sources_reach_the_compose_services():
    env = environment("grafana")
    assert env["PROMETHEUS_URL"] == "http://prometheus:9090"
    assert env["JAEGER_URL"] == "http://jaeger:16686"
    assert _grafana_expand("${PROMETHEUS_URL}/x $JAEGER_URL", env) == "http://prometheus:9090/x http://jaeger:16686"
    files = sorted(GRAFANA_DATASOURCES.glob("*.yml"))
    sources = [source for f in files for source in yaml.safe_load(f.read_text())["datasources"]]
    assert {s["type"] for s in sources} >= {"prometheus", "jaeger"}, sources
    for source in sources:
        url = urlparse(_grafana_expand(source["url"], env))
        assert url.hostname in services(), f"datasource {source['name']} points at {url.hostname}"
        assert url.port in _declared_ports(url.hostname), f"datasource {source['name']}: {url.netloc}"


def test_collector_config_is_mounted_and_forwards_traces_to_jaeger():
    mounts = dict(_volumes("otel-collector"))
    target = mounts["./infra/otel/collector.yaml"]
    assert f"--config={target}" in services()["otel-collector"]["command"]
    config = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        for component in pipeline[kind]:
            assert component in config[kind], f"{kind[:-1]} {component} is not defined"
    assert "otlp" in pipeline["receivers"] and "batch" in pipeline["processors"]
    # The OTLP/gRPC exporter ("otlp"; newer collectors also call it "otlp_grpc" and keep "otlp").
    jaeger = [e for e in pipeline["exporters"] if e.split("/")[0] in {"otlp", "otlp_grpc"}]
    assert jaeger, pipeline["exporters"]
    exporter = config["exporters"][jaeger[0]]
    host, port = exporter["endpoint"].split(":")
    assert (host, port) == ("jaeger", "4317") and host in services()
    assert exporter["tls"]["insecure"] is True
    # Jaeger v2 receives OTLP/gRPC on 4317 on every interface (JAEGER_LISTEN_HOST, test_jaeger_is_v2).
    assert 4317 in _declared_ports("jaeger")
    for extension in config["service"].get("extensions", []):
        assert extension in config["extensions"]


# --- the createbuckets one-shot, run for real against moto's S3 ---------------------------------


@pytest.fixture
def s3_endpoint():
    """A fresh moto S3 server: the one-shot must create the bucket, then find it."""
    from tests.support.servers import moto_s3

    with moto_s3() as endpoint:
        yield endpoint


def test_createbuckets_creates_the_media_bucket_and_can_run_again(s3_endpoint, tmp_path):
    command = services()["createbuckets"]["command"]
    assert command[:2] == ["python", "-c"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **environment("createbuckets")}
    env["AWS_S3_ENDPOINT_URL"] = s3_endpoint
    for attempt in ("created bucket", "already exists"):
        result = subprocess.run([sys.executable, "-c", command[2]], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert attempt in result.stdout
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")  # moto accepts any key
    assert env["AWS_STORAGE_BUCKET_NAME"] in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_the_app_stores_media_in_moto_under_the_compose_host_name(s3_endpoint, tmp_path):
    """The web service's storage settings against moto, reached as "s3" like on the compose network
    (the name resolves to this machine here): an upload, then its presigned link."""
    compose_env = environment("web")
    assert urlparse(compose_env["AWS_S3_ENDPOINT_URL"]).hostname == "s3"
    port = urlparse(s3_endpoint).port
    bucket = compose_env["AWS_STORAGE_BUCKET_NAME"]
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x").create_bucket(Bucket=bucket)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **compose_env}
    env["AWS_S3_ENDPOINT_URL"] = f"http://s3:{port}"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "activelog.settings"
    probe = (
        "import socket\n"
        "_resolve = socket.getaddrinfo\n"
        "socket.getaddrinfo = lambda host, *a, **k: _resolve('127.0.0.1' if host == 's3' else host, *a, **k)\n"
        "import urllib.request\n"
        "import django\n"
        "django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "name = default_storage.save('local-stack-probe/hello.txt', ContentFile(b'hello from s3'))\n"
        "url = default_storage.url(name)\n"
        "print(url)\n"
        "print(urllib.request.urlopen(url, timeout=10).read().decode())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    url, body = result.stdout.strip().splitlines()[-2:]
    assert url.startswith(f"http://s3:{port}/{bucket}/local-stack-probe/hello"), url
    assert body == "hello from s3"
