"""Every manage.py and Celery command that ECS runs, run for real as the task would run it.

The commands are collected from where the deployment defines them: the container commands of the
task definition templates (infra/ecs), the migration one-off of scripts/deploy.py and the container
overrides of the scheduled tasks in infra/terraform/ecs.tf. Each runs as a subprocess from the
repository root with exactly that argv, the task definition's environment, local stand-ins for its
secrets (a fresh PostgreSQL database, Redis db 14, moto for AWS) and a PROMETHEUS_MULTIPROC_DIR
that does not exist yet, as /tmp is an empty volume when a Fargate task starts. The worker also
serves its metrics on its task definition's CELERY_METRICS_PORT (9808, scraped by Prometheus in
AWS): the test scrapes it while the worker runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import pytest
import redis

from scripts import deploy
from tests.infra.ecs_deploy_support import SAMPLE_VARS
from tests.support.databases import fresh_database
from tests.support.servers import PRODUCTION_ENV, ROOT, Program, json_stub, migrated_database

pytestmark = pytest.mark.slow

ECS_TF = ROOT / "infra" / "terraform" / "ecs.tf"
TERRAFORM_CONTAINER_NAMES = {"local.web_container_name": "web", "local.worker_container_name": "worker"}
REDIS_URL = "redis://127.0.0.1:6379/14"
# The image's own environment (Dockerfile ENV) that matters to these commands.
IMAGE_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
AWS_REGION = SAMPLE_VARS["aws_region"]


@dataclass(frozen=True)
class EcsCommand:
    name: str
    argv: tuple[str, ...]
    task: str  # the task definition ("web" or "worker") whose environment the command runs with
    source: str

    @property
    def long_running(self) -> bool:
        return self.argv[0] == "celery" and self.argv[3] in {"worker", "beat"}


def task_definition(kind: str) -> dict:
    return deploy.build_task_definition(kind, SAMPLE_VARS, family=f"activelog-{kind}",
                                        execution_role_arn="arn:aws:iam::123456789012:role/exec",
                                        task_role_arn="arn:aws:iam::123456789012:role/task")


def app_container(kind: str) -> dict:
    return task_definition(kind)["containerDefinitions"][0]


def terraform_overrides() -> list[EcsCommand]:
    """Container overrides of the EventBridge targets (scheduled RunTask) in ecs.tf."""
    text = ECS_TF.read_text()
    found = []
    for match in re.finditer(r'resource "aws_cloudwatch_event_target" "(\w+)" \{(.*?)\n\}', text, flags=re.DOTALL):
        target, body = match.groups()
        task = re.search(r"task_definition_arn\s*=\s*aws_ecs_task_definition\.(\w+)\.", body)
        for override in re.finditer(r"name\s*=\s*([\w.]+)\s*\n\s*command\s*=\s*(\[[^\]]*\])", body):
            container, argv = override.groups()
            assert task and TERRAFORM_CONTAINER_NAMES[container] == task.group(1), (target, container)
            found.append(EcsCommand(target, tuple(json.loads(argv)), task.group(1), f"ecs.tf {target}"))
    return found


def ecs_commands() -> list[EcsCommand]:
    commands = [EcsCommand("migrate", tuple(deploy.MIGRATE_COMMAND), "web", "scripts/deploy.py")]
    commands += terraform_overrides()
    for kind in deploy.CONTAINER_TEMPLATES:
        if command := app_container(kind).get("command"):
            commands.append(EcsCommand(f"{kind}-container", tuple(command), kind, f"{kind}.containers.json.tpl"))
    return [c for c in commands if "manage.py" in c.argv or c.argv[0] == "celery"]


COMMANDS = ecs_commands()


def test_the_commands_found_are_the_ones_the_deployment_runs():
    """A guard on the collection above: if it finds nothing, the tests below prove nothing."""
    assert {c.argv[:3] for c in COMMANDS} >= {
        ("python", "manage.py", "migrate"), ("python", "manage.py", "cleanup_exports"), ("celery", "-A", "activelog"),
    }


@pytest.fixture(scope="module")
def aws(s3_endpoint):
    """moto stands in for S3 and CloudWatch Logs, with the bucket and log group the task expects."""
    options = {"endpoint_url": s3_endpoint, "region_name": AWS_REGION,
               "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3, logs = boto3.client("s3", **options), boto3.client("logs", **options)
    if SAMPLE_VARS["media_bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=SAMPLE_VARS["media_bucket"])
    if not logs.describe_log_groups(logGroupNamePrefix=SAMPLE_VARS["app_log_group"])["logGroups"]:
        logs.create_log_group(logGroupName=SAMPLE_VARS["app_log_group"])
    return s3_endpoint


TASK_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def task_metadata():
    """The ECS task metadata endpoint (v4) that ECS gives every container."""
    arn = f"arn:aws:ecs:{AWS_REGION}:123456789012:task/activelog/{TASK_ID}"
    with json_stub({"/task": {"TaskARN": arn}}) as base:
        yield base


def task_environment(kind: str, *, database_url: str, metrics_dir: Path, aws_endpoint: str,
                     metadata_uri: str) -> dict[str, str]:
    """What the container's process gets: the task definition's environment, its secrets (local
    stand-ins), what ECS itself adds, the image's environment; nothing from the developer's shell
    but the PATH."""
    container = app_container(kind)
    local_secrets = {
        "DJANGO_SECRET_KEY": PRODUCTION_ENV["DJANGO_SECRET_KEY"],
        "JWT_SIGNING_KEY": PRODUCTION_ENV["JWT_SIGNING_KEY"],
        "DATABASE_URL": database_url,
        "DATABASE_USER": "postgres",
        "DATABASE_PASSWORD": "ignored-by-local-trust-auth",
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "METRICS_TOKEN": "metrics-token-for-tests-0123456789",
    }
    assert {s["name"] for s in container["secrets"]} == set(local_secrets), "a new secret needs a local stand-in"
    env = {item["name"]: item["value"] for item in container["environment"]}
    env.update(local_secrets)
    env.update({"AWS_DEFAULT_REGION": AWS_REGION, "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
                "ECS_CONTAINER_METADATA_URI_V4": metadata_uri})
    env.update(IMAGE_ENV)
    env.update({
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        # The task role's credentials; every AWS call goes to moto on localhost.
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    })
    return env


@pytest.fixture
def database_url(request):
    command: EcsCommand = request.node.callspec.params["command"]
    with fresh_database("activelog_ecs_command") as url:
        if "migrate" not in command.argv:
            migrated_database(url)  # the deploy migrated it before anything else runs
        yield url


def run_to_completion(command: EcsCommand, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(list(command.argv), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def ping_worker(env: dict, node: str) -> bool:
    result = subprocess.run(["celery", "-A", "activelog", "inspect", "ping", "--json", "--timeout", "2",
                             "--destination", node], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode != 0:
        return False
    replies = json.loads(result.stdout.strip().splitlines()[-1])
    return replies.get(node) == {"ok": "pong"}


def shipped_records(aws_endpoint: str) -> list[tuple[str, dict]]:
    """(stream, record) of every record in the app log group (moto's) that this task wrote."""
    logs = boto3.client("logs", endpoint_url=aws_endpoint, region_name=AWS_REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    group = SAMPLE_VARS["app_log_group"]
    records = []
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{TASK_ID}/")["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                     startFromHead=True)["events"]
        records += [(stream["logStreamName"], json.loads(event["message"])) for event in events]
    return records


def scrape_worker_metrics(env: dict) -> tuple[int, str, str]:
    """GET /metrics on the worker's CELERY_METRICS_PORT, as Prometheus' activelog-worker job does."""
    url = f"http://127.0.0.1:{env['CELERY_METRICS_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def run_worker(command: EcsCommand, env: dict) -> list[str]:
    """Starts, answers `celery inspect ping` and a scrape of its metrics port, then stops cleanly on
    SIGTERM (ECS's stop)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    node = f"celery@{socket.gethostname()}"
    port = int(env["CELERY_METRICS_PORT"])
    with socket.socket() as probe:  # the port the task definition names must be free here
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is already in use on this machine"
    with Program(list(command.argv), env, stop_timeout=40) as worker:
        deadline = time.monotonic() + 90
        answered = False
        while time.monotonic() < deadline and worker.process.poll() is None:
            if ping_worker(env, node):
                answered = True
                break
            time.sleep(0.5)
        output = "\n".join(worker.lines()[-60:])
        assert answered, f"the worker never answered ping (exit code {worker.process.poll()}):\n{output}"
        status, content_type, body = scrape_worker_metrics(env)
        assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
        # The pool processes' samples, read from the multiprocess directory (activelog/metrics.py).
        assert re.search(r"^activelog_\w+(\{[^}]*\})? ", body, re.MULTILINE), body[:2000]
        assert any(path.suffix == ".db" for path in Path(env["PROMETHEUS_MULTIPROC_DIR"]).iterdir())
        worker.process.send_signal(signal.SIGTERM)
        code = worker.stop()
    output = "\n".join(worker.lines()[-60:])
    assert code == 0, f"exit code {code} after SIGTERM:\n{output}"
    assert any(f"{node} ready" in line for line in worker.lines()), output
    return worker.lines()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_the_command_runs_in_a_fresh_task(command, database_url, aws, task_metadata, tmp_path):
    metrics_dir = tmp_path / "prometheus-multiproc"
    env = task_environment(command.task, database_url=database_url, metrics_dir=metrics_dir, aws_endpoint=aws,
                           metadata_uri=task_metadata)

    if command.long_running:
        # Exactly the task definition's metrics settings (infra/ecs/worker.containers.json.tpl).
        assert env["CELERY_METRICS_PORT"] == "9808"
        assert {m["containerPort"] for m in app_container(command.task)["portMappings"]} == {9808}
        lines = run_worker(command, env)
        # The pool processes ship their own records (their CloudWatch handler is set up after fork).
        ready = [(stream, r) for stream, r in shipped_records(aws) if r["message"].startswith("worker process ready")]
        assert len(ready) == int(command.argv[command.argv.index("--concurrency") + 1]), "\n".join(lines)
        assert len({stream for stream, _ in ready}) == len(ready)  # one stream per process
        assert all(r["version"] == SAMPLE_VARS["app_version"] for _, r in ready)
    else:
        result = run_to_completion(command, env)
        assert result.returncode == 0, f"{command.source}: {' '.join(command.argv)}\n{result.stdout}\n{result.stderr}"

    assert metrics_dir.is_dir()
    if "migrate" in command.argv:
        with psycopg.connect(database_url) as connection:
            applied = connection.execute("SELECT count(*) FROM django_migrations WHERE app = 'activities'").fetchone()
        assert applied[0] > 0
