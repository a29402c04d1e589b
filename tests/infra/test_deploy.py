"""scripts/deploy.py end to end against moto's server mode (ECR, ECS, EC2, Secrets Manager).

moto runs the happy path for real: the image tag in ECR, task definitions, a one-off migration task
(moto stops it at once with exit code 0), services that report running == desired. What moto cannot
produce — a migration that exits non-zero or never starts, services that never become stable, the
ECS circuit breaker rolling back on its own, a failing /health — is injected at the boto3 / HTTP
boundary, and the test asserts on moto's state that both services are back on their previous task
definition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import WaiterError

from scripts import deploy
from tests.infra.ecs_deploy_support import (
    ACCOUNT,
    REGION,
    SECRET_NAMES,
    client,
    fresh_moto_account,
    set_dummy_credentials,
    start_moto,
)

SHA = "3f2c1ab0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4"
OLD_SHA = "0000000000000000000000000000000000000000"
REPO = "activelog"
CLUSTER = "activelog"
SECRET_VALUE_MARKER = "s3cr3t-value-that-must-never-be-printed"
SCRIPT = Path(deploy.__file__)


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deploy_moto():
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


class HealthServer:
    """A tiny /health on localhost whose answer the test chooses."""

    def __init__(self):
        self.status, self.body, self.hits = 200, {"status": "healthy", "version": SHA}, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                payload = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def health():
    server = HealthServer()
    yield server
    server.close()


class Aws:
    """The pre-existing environment (what Terraform would have created) in moto, plus helpers."""

    def __init__(self, endpoint: str, tmp_path: Path, health_url: str, account: str = ACCOUNT):
        self.endpoint = endpoint
        self.account = account
        self.ecs = client("ecs", endpoint)
        self.ecr = client("ecr", endpoint)
        ec2 = client("ec2", endpoint)
        sm = client("secretsmanager", endpoint)

        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        self.subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in ((10, "a"), (11, "b"))
        ]
        self.task_sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]

        self.ecr.create_repository(repositoryName=REPO, imageTagMutability="IMMUTABLE")
        self.push_image(SHA)
        self.push_image(OLD_SHA)
        self.ecs.create_cluster(clusterName=CLUSTER)
        secret_arns = {
            key: sm.create_secret(Name=name, SecretString=f"{SECRET_VALUE_MARKER}-{key}")["ARN"]
            for key, name in SECRET_NAMES.items()
        }
        self.config = {
            "region": REGION,
            "cluster": CLUSTER,
            "web_service": "activelog-web",
            "worker_service": "activelog-worker",
            "ecr_repository": REPO,
            "domain": "activelog.example.com",
            "subnets": self.subnets,
            "security_groups": [self.task_sg],
            "execution_role_arn": f"arn:aws:iam::{account}:role/activelog-ecs-execution",
            "task_role_arn": f"arn:aws:iam::{account}:role/activelog-ecs-task",
            "log_group": "/ecs/activelog",
            "app_log_group": "/activelog/app",
            "media_bucket": "activelog-media-test",
            **secret_arns,
            "smoke_url": health_url,
            "poll_interval": 0.01,
            "stable_timeout": 2,
            "migration_timeout": 5,
            "smoke_retries": 2,
            "smoke_interval": 0,
        }
        self.config_path = tmp_path / "deploy.json"
        self.config_path.write_text(json.dumps(self.config))

        # revision 1 of each family runs in the services before the deploy
        self.initial = {}
        for kind in ("web", "worker"):
            cfg = {**deploy.DEFAULTS, **self.config, "web_family": "activelog-web", "worker_family": "activelog-worker",
                   "allowed_hosts": "activelog.example.com", "csrf_trusted_origins": "https://activelog.example.com"}
            variables = deploy.template_vars(cfg, image=self.image(OLD_SHA), version=OLD_SHA, kind=kind)
            definition = deploy.build_task_definition(
                kind, variables, family=f"activelog-{kind}", execution_role_arn=cfg["execution_role_arn"],
                task_role_arn=cfg["task_role_arn"],
            )
            arn = self.ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
            self.initial[kind] = arn
            self.ecs.create_service(
                cluster=CLUSTER, serviceName=f"activelog-{kind}", taskDefinition=arn, desiredCount=2,
                launchType="FARGATE", deploymentController={"type": "ECS"},
                networkConfiguration={"awsvpcConfiguration": {
                    "subnets": self.subnets, "securityGroups": [self.task_sg], "assignPublicIp": "DISABLED",
                }},
            )

    def image(self, sha: str) -> str:
        uri = self.ecr.describe_repositories(repositoryNames=[REPO])["repositories"][0]["repositoryUri"]
        return f"{uri}:{sha}"

    def push_image(self, tag: str) -> None:
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"digest": f"sha256:{tag[:8].ljust(64, '0')}", "size": 1, "mediaType":
                               "application/vnd.docker.container.image.v1+json"}, "layers": []}
        self.ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(manifest), imageTag=tag)

    def service_task_definition(self, kind: str) -> str:
        return self.ecs.describe_services(cluster=CLUSTER, services=[f"activelog-{kind}"])["services"][0][
            "taskDefinition"
        ]

    def revisions(self, kind: str) -> list[str]:
        return self.ecs.list_task_definitions(familyPrefix=f"activelog-{kind}")["taskDefinitionArns"]

    def migration_tasks(self) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, startedBy=deploy.STARTED_BY).get("taskArns", [])
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []

    def assert_rolled_back(self) -> None:
        for kind in ("web", "worker"):
            assert self.service_task_definition(kind) == self.initial[kind], kind
            # the failed release's revisions are deregistered: "latest ACTIVE" is what runs again
            active = self.ecs.list_task_definitions(familyPrefix=f"activelog-{kind}", status="ACTIVE")
            assert active["taskDefinitionArns"] == [self.initial[kind]], kind


def _fargate_task_memory_is_task_level(monkeypatch) -> None:
    """moto's RunTask sums container-level memory and crashes when a container has none.

    Real Fargate takes the memory from the task level, which is what our task definitions do (no
    container-level memory). The moto server runs in this process, so patch its bookkeeping.
    """
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def calculate(task_definition):
        containers = [{"memoryReservation": 0, **c} for c in task_definition.container_definitions]
        return original(SimpleNamespace(container_definitions=containers))

    monkeypatch.setattr(EC2ContainerServiceBackend, "_calculate_task_resource_requirements", staticmethod(calculate))


@pytest.fixture
def aws(deploy_moto, monkeypatch, tmp_path, health):
    set_dummy_credentials(monkeypatch)
    _fargate_task_memory_is_task_level(monkeypatch)
    # moto reads this when a service is created: its services then report running == desired.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    account = fresh_moto_account(monkeypatch)
    return Aws(deploy_moto, tmp_path, health.url, account)


def run(aws: Aws, *extra: str, capsys=None) -> tuple[int, str]:
    argv = ["--config", str(aws.config_path), "--git-sha", SHA, "--skip-build", "--endpoint-url", aws.endpoint, *extra]
    code = deploy.main(argv, environ={})
    out = capsys.readouterr().out if capsys else ""
    return code, out


def wrap_ecs(monkeypatch, **overrides):
    """Make the script's ECS client answer some calls differently (the boto3 boundary)."""
    real_make_client = deploy.make_client

    class Wrapped:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            if name in overrides:
                return lambda *a, **kw: overrides[name](self._inner, *a, **kw)
            return getattr(self._inner, name)

    def make_client(service, **kwargs):
        inner = real_make_client(service, **kwargs)
        return Wrapped(inner) if service == "ecs" else inner

    monkeypatch.setattr(deploy, "make_client", make_client)


# -- happy path ----------------------------------------------------------------------------------

def test_deploy_registers_migrates_updates_and_smoke_tests(aws, health, capsys):
    code, out = run(aws, capsys=capsys)

    assert code == 0, out
    for number in range(1, 8):
        assert f"[{number}/7]" in out
    assert "already in ECR (tags are immutable): skipping build and push" in out
    for kind in ("web", "worker"):
        target = aws.service_task_definition(kind)
        assert target != aws.initial[kind]
        assert target.endswith(f"activelog-{kind}:2")
        definition = aws.ecs.describe_task_definition(taskDefinition=target)["taskDefinition"]
        container = definition["containerDefinitions"][0]
        assert container["image"] == aws.image(SHA)
        assert {"name": "APP_VERSION", "value": SHA} in container["environment"]

    [migration] = aws.migration_tasks()
    assert migration["taskDefinitionArn"] == aws.service_task_definition("web")
    assert migration["overrides"]["containerOverrides"] == [{"name": "web", "command": deploy.MIGRATE_COMMAND}]
    assert migration["launchType"] == "FARGATE"
    assert "migrations applied (exit code 0)" in out
    assert health.hits == 1
    assert "-> 200 healthy" in out
    assert SECRET_VALUE_MARKER not in out


def test_rerun_is_idempotent(aws, capsys):
    assert run(aws, capsys=capsys)[0] == 0
    code, out = run(aws, capsys=capsys)

    assert code == 0, out
    assert "reusing it" in out
    assert "activelog-web: already on activelog-web:2 (no update needed)" in out
    for kind in ("web", "worker"):
        assert len(aws.revisions(kind)) == 2  # no third revision for the same commit
        assert aws.service_task_definition(kind).endswith(f"activelog-{kind}:2")


def test_dry_run_changes_nothing(aws, health, capsys):
    code, out = run(aws, "--dry-run", capsys=capsys)

    assert code == 0, out
    assert "DRY RUN" in out
    assert "would register activelog-web:" in out and "as a new revision activelog-web:<new>" in out
    assert "would run a one-off Fargate task" in out
    assert "would update activelog-web: activelog-web:1 -> activelog-web:<new>" in out
    for kind in ("web", "worker"):
        assert len(aws.revisions(kind)) == 1
        assert aws.service_task_definition(kind) == aws.initial[kind]
    assert aws.migration_tasks() == []
    assert health.hits == 0


def test_with_adot_adds_the_sidecar(aws, capsys):
    code, out = run(aws, "--with-adot", capsys=capsys)

    assert code == 0, out
    definition = aws.ecs.describe_task_definition(taskDefinition=aws.service_task_definition("web"))["taskDefinition"]
    assert [c["name"] for c in definition["containerDefinitions"]] == ["web", "aws-otel-collector"]
    assert {"name": "OTEL_SDK_DISABLED", "value": "false"} in definition["containerDefinitions"][0]["environment"]


def test_build_and_push_when_the_tag_is_new(aws, monkeypatch, capsys):
    """Without --skip-build and with a new commit: docker login/build/push, password never printed."""
    new_sha = "a" * 40
    commands: list[tuple[list[str], str | None]] = []

    def fake_run(argv, stdin=None):
        commands.append((argv, stdin))
        if argv[1] == "push":
            aws.push_image(new_sha)

    monkeypatch.setattr(deploy.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(deploy.Deployer, "_run", staticmethod(fake_run))
    code = deploy.main(["--config", str(aws.config_path), "--git-sha", new_sha, "--endpoint-url", aws.endpoint],
                       environ={})
    out = capsys.readouterr().out

    assert code == 0, out
    verbs = [argv[1] for argv, _ in commands]
    assert verbs == ["login", "build", "push"]
    login_argv, password = commands[0]
    assert "--password-stdin" in login_argv and password
    assert password not in out
    assert f"{aws.image(new_sha)}" in commands[1][0] and "linux/amd64" in commands[1][0]
    assert aws.ecs.describe_task_definition(taskDefinition=aws.service_task_definition("web"))["taskDefinition"][
        "containerDefinitions"][0]["image"] == aws.image(new_sha)


# -- failures before anything changes ------------------------------------------------------------

def test_skip_build_without_the_image_in_ecr_stops_before_registering(aws, capsys):
    code = deploy.main(["--config", str(aws.config_path), "--git-sha", "b" * 40, "--skip-build",
                        "--endpoint-url", aws.endpoint], environ={})
    out = capsys.readouterr().out

    assert code == 1
    assert "is not in ECR" in out and "services were not changed" in out
    assert len(aws.revisions("web")) == 1


def test_missing_secret_stops_in_preflight(aws, capsys):
    client("secretsmanager", aws.endpoint).delete_secret(
        SecretId=aws.config["jwt_signing_key_secret_arn"], ForceDeleteWithoutRecovery=True,
    )
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert "secret for JWT_SIGNING_KEY not found" in out
    assert len(aws.revisions("web")) == 1 and len(aws.revisions("worker")) == 1


def test_missing_service_stops_in_preflight(aws, capsys):
    code, out = run(aws, "--worker-service", "nope", capsys=capsys)

    assert code == 1
    assert "service(s) nope not found" in out
    assert len(aws.revisions("web")) == 1


def test_incomplete_configuration_is_exit_code_2(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"region": REGION, "cluster": CLUSTER}))
    assert deploy.main(["--config", str(path), "--git-sha", SHA], environ={}) == 2
    assert "missing configuration" in capsys.readouterr().err


# -- failures after registration roll back -------------------------------------------------------

def test_failed_migration_stops_and_rolls_back(aws, monkeypatch, capsys):
    monkeypatch.setattr(deploy, "container_exit_code", lambda task, name: 1)
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert "migrations failed (exit code 1)" in out
    assert "[4/7]" not in out  # the services were never updated
    assert "Rolling back" in out and "rolled back" in out
    aws.assert_rolled_back()


def test_migration_task_that_cannot_start_rolls_back(aws, monkeypatch, capsys):
    wrap_ecs(monkeypatch, run_task=lambda ecs, **kw: {
        "tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:ENI", "detail": "no free IPs"}],
    })
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert "the migration task could not be started" in out and "RESOURCE:ENI" in out
    aws.assert_rolled_back()
    assert aws.migration_tasks() == []


def test_migration_task_stopped_without_exit_code_rolls_back(aws, monkeypatch, capsys):
    def describe_tasks(ecs, **kw):
        response = ecs.describe_tasks(**kw)
        for task in response["tasks"]:
            task.update(stopCode="TaskFailedToStart", stoppedReason="CannotPullContainerError: pull access denied")
            for container in task["containers"]:
                container.pop("exitCode", None)
        return response

    wrap_ecs(monkeypatch, describe_tasks=describe_tasks)
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert "stopped without running" in out and "CannotPullContainerError" in out
    aws.assert_rolled_back()


def test_migration_that_never_finishes_is_stopped_and_rolled_back(aws, monkeypatch, capsys):
    stopped = []

    def describe_tasks(ecs, **kw):
        response = ecs.describe_tasks(**kw)
        for task in response["tasks"]:
            task["lastStatus"] = "RUNNING"
        return response

    def stop_task(ecs, **kw):
        stopped.append(kw)
        return ecs.stop_task(**kw)

    wrap_ecs(monkeypatch, describe_tasks=describe_tasks, stop_task=stop_task)
    code, out = run(aws, "--migration-timeout", "0", capsys=capsys)

    assert code == 1
    assert "did not finish within 0s (stopped it)" in out
    assert [kw["task"] for kw in stopped] == [t["taskArn"] for t in aws.migration_tasks()]
    aws.assert_rolled_back()


def test_services_that_never_become_stable_are_rolled_back(aws, monkeypatch, capsys):
    calls = []

    def get_waiter(ecs, name):
        waiter = ecs.get_waiter(name)
        if name == "services_stable" and not calls:  # only the deploy's wait fails; the rollback's succeeds
            calls.append(name)

            class Failing:
                def wait(self, **kwargs):
                    raise WaiterError(name="ServicesStable", reason="Max attempts exceeded", last_response={})

            return Failing()
        return waiter

    wrap_ecs(monkeypatch, get_waiter=get_waiter)
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert "did not become stable" in out and "Max attempts exceeded" in out
    assert "[6/7]" not in out
    assert "activelog-web: activelog-web:2 -> activelog-web:1" in out
    assert "services stable on the previous revisions" in out
    aws.assert_rolled_back()


def test_circuit_breaker_rollback_is_detected(aws, monkeypatch, capsys):
    """ECS rolled the web service back by itself: stable, but not on the new revision."""

    def update_service(ecs, **kw):
        if kw["service"] == "activelog-web" and kw["taskDefinition"] != aws.initial["web"]:
            return {"service": {}}  # the update "happened" but ECS went back to revision 1
        return ecs.update_service(**kw)

    wrap_ecs(monkeypatch, update_service=update_service)
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert "is stable on activelog-web:1, not activelog-web:2" in out
    aws.assert_rolled_back()


def test_failing_smoke_test_rolls_back(aws, health, capsys):
    health.status, health.body = 503, {"status": "unhealthy"}
    code, out = run(aws, capsys=capsys)

    assert code == 1
    assert health.hits == 2  # smoke_retries
    assert "smoke test failed" in out and "HTTP 503" in out
    assert "activelog-worker: activelog-worker:2 -> activelog-worker:1" in out
    aws.assert_rolled_back()


def test_degraded_is_good_enough(aws, health, capsys):
    health.body = {"status": "degraded", "version": SHA}
    code, out = run(aws, capsys=capsys)

    assert code == 0, out
    assert "-> 200 degraded" in out


def test_failed_rollback_is_exit_code_3(aws, monkeypatch, capsys):
    def get_waiter(ecs, name):
        class Failing:
            def wait(self, **kwargs):
                raise WaiterError(name="ServicesStable", reason="Max attempts exceeded", last_response={})

        return Failing()

    wrap_ecs(monkeypatch, get_waiter=get_waiter)
    code, out = run(aws, capsys=capsys)

    assert code == 3
    assert "ROLLBACK INCOMPLETE" in out
    assert "activelog-web -> activelog-web:1" in out


# -- as a command --------------------------------------------------------------------------------

def test_help_runs_as_a_script():
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "--dry-run" in result.stdout and "--skip-build" in result.stdout


def test_dry_run_as_a_subprocess_honours_aws_endpoint_url(aws):
    env = {**os.environ, "AWS_ENDPOINT_URL": aws.endpoint, "ACTIVELOG_DEPLOY_CONFIG": str(aws.config_path)}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--git-sha", SHA, "--skip-build", "--dry-run"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[7/7] Done (dry run)" in result.stdout
    assert len(aws.revisions("web")) == 1


# -- where the settings come from --------------------------------------------------------------

def test_task_size_and_roles_are_inherited_from_the_running_revision(aws, capsys):
    """Without cpu/memory/roles in the configuration a deploy keeps what Terraform gave the service."""
    for kind in ("web", "worker"):
        current = aws.ecs.describe_task_definition(taskDefinition=aws.initial[kind])["taskDefinition"]
        bigger = {key: current[key] for key in ("family", "networkMode", "requiresCompatibilities",
                                                "runtimePlatform", "volumes", "containerDefinitions")}
        bigger.update(cpu="512", memory="1024", executionRoleArn=f"arn:aws:iam::{aws.account}:role/tf-execution",
                      taskRoleArn=f"arn:aws:iam::{aws.account}:role/tf-task")
        arn = aws.ecs.register_task_definition(**bigger)["taskDefinition"]["taskDefinitionArn"]
        aws.ecs.update_service(cluster=CLUSTER, service=f"activelog-{kind}", taskDefinition=arn)
    config = {k: v for k, v in aws.config.items() if k not in ("execution_role_arn", "task_role_arn")}
    aws.config_path.write_text(json.dumps(config))

    code, out = run(aws, capsys=capsys)

    assert code == 0, out
    for kind in ("web", "worker"):
        new = aws.ecs.describe_task_definition(taskDefinition=aws.service_task_definition(kind))["taskDefinition"]
        assert new["revision"] == 3
        assert (new["cpu"], new["memory"]) == ("512", "1024")
        assert new["executionRoleArn"].endswith("role/tf-execution")
        assert new["taskRoleArn"].endswith("role/tf-task")
        assert new["containerDefinitions"][0]["image"] == aws.image(SHA)


def test_configuration_from_terraform_outputs(aws, health, tmp_path, capsys):
    """`terraform output -json` of infra/terraform is enough (names as in its outputs.tf)."""
    variables = {**{k: aws.config[k] for k in SECRET_NAMES}, "image": "ignored:tf", "app_version": "tf",
                 "app_name": "activelog", "aws_region": REGION, "allowed_hosts": "activelog.example.com",
                 "csrf_trusted_origins": "https://activelog.example.com", "media_bucket": "activelog-media-test",
                 "app_log_group": "/activelog-prod/app", "web_log_group": "/ecs/activelog-prod/web",
                 "worker_log_group": "/ecs/activelog-prod/worker", "otel_sdk_disabled": "false",
                 "adot_image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1",
                 "gunicorn_workers": "3", "gunicorn_threads": "4", "database_pool_max_size": "4",
                 "worker_concurrency": "2"}
    outputs = {
        "app_url": {"sensitive": False, "type": "string", "value": "https://activelog.example.com"},
        "ecr_repository_url": {"value": aws.image(SHA).rsplit(":", 1)[0]},
        "ecs_cluster_name": {"value": CLUSTER},
        "ecs_services": {"value": {"web": "activelog-web", "worker": "activelog-worker"}},
        "ecs_task_definition_families": {"value": {"web": "activelog-web", "worker": "activelog-worker",
                                                   "db_bootstrap": "activelog-db-bootstrap"}},
        "ecs_task_role_arns": {"value": {"execution": aws.config["execution_role_arn"],
                                         "task": aws.config["task_role_arn"]}},
        "ecs_template_variables": {"value": variables},
        "one_off_task_network": {"value": {"subnets": aws.subnets, "securityGroups": [aws.task_sg],
                                           "assignPublicIp": "DISABLED"}},
    }
    path = tmp_path / "tf-outputs.json"
    path.write_text(json.dumps(outputs))

    code = deploy.main(["--terraform-outputs", str(path), "--git-sha", SHA, "--skip-build",
                        "--endpoint-url", aws.endpoint, "--smoke-url", health.url, "--poll-interval", "0.01",
                        "--stable-timeout", "2", "--smoke-retries", "2", "--smoke-interval", "0"], environ={})
    out = capsys.readouterr().out

    assert code == 0, out
    for kind in ("web", "worker"):
        new = aws.ecs.describe_task_definition(taskDefinition=aws.service_task_definition(kind))["taskDefinition"]
        containers = new["containerDefinitions"]
        assert [c["name"] for c in containers] == [kind, "aws-otel-collector"]  # otel_sdk_disabled=false
        assert containers[0]["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/activelog-prod/{kind}"
        assert containers[0]["image"] == aws.image(SHA)
        assert {"name": "APP_VERSION", "value": SHA} in containers[0]["environment"]
    [migration] = aws.migration_tasks()
    assert migration["taskDefinitionArn"] == aws.service_task_definition("web")
