"""The ECS task definition templates in infra/ecs, rendered like Terraform and the deploy script do.

Validated through botocore's own RegisterTaskDefinition request model and registered against moto's
ECS (server mode on localhost), plus the properties production depends on: secrets only through
valueFrom, a Python health check against /health/live, read-only root with a writable /tmp, a
stopTimeout above gunicorn's graceful timeout, non-root, an init process, awslogs.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from scripts import deploy
from tests.infra.ecs_deploy_support import (
    SAMPLE_VARS,
    client,
    fresh_moto_account,
    set_dummy_credentials,
    start_moto,
)

ECS_DIR = Path(deploy.ECS_DIR)
TEMPLATES = sorted(ECS_DIR.glob("*.tpl"))
SECRET_NAMES = set(deploy.SECRET_ENV_NAMES)
GUNICORN_GRACEFUL_TIMEOUT = 25


def task_definition(kind: str, *, with_adot: bool = False, **overrides) -> dict:
    params = {
        "family": f"activelog-{kind}",
        "execution_role_arn": "arn:aws:iam::123456789012:role/activelog-ecs-execution",
        "task_role_arn": "arn:aws:iam::123456789012:role/activelog-ecs-task",
        **overrides,
    }
    return deploy.build_task_definition(kind, SAMPLE_VARS, with_adot=with_adot, **params)


def app_container(definition: dict) -> dict:
    return definition["containerDefinitions"][0]


def environment(container: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("environment", [])}


@pytest.fixture(scope="module")
def ecs_taskdef_moto():
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


# -- the templates themselves -------------------------------------------------------------------

def test_all_three_templates_exist():
    assert {path.name for path in TEMPLATES} == {
        "web.containers.json.tpl", "worker.containers.json.tpl", "adot.container.json.tpl",
    }


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_uses_only_plain_placeholders(path):
    text = path.read_text()
    assert "%{" not in text, "Terraform directives cannot be rendered by Python"
    assert string.Template(text).is_valid()
    # every "$" starts a ${name} placeholder: nothing that Terraform and Python would read differently
    assert not re.search(r"\$(?!\{[A-Za-z_][A-Za-z0-9_]*\})", text)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_is_valid_json_once_rendered_plainly(path):
    """Plain substitution (what Terraform's templatefile does) yields valid JSON."""
    rendered = json.loads(string.Template(path.read_text()).substitute(SAMPLE_VARS))
    assert rendered
    assert "${" not in json.dumps(rendered)


def test_every_template_variable_is_documented_in_the_readme():
    readme = (ECS_DIR / "README.md").read_text()
    readme = readme.split("## Template variables", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.MULTILINE))
    used = set().union(*(deploy.template_variables(path) for path in TEMPLATES))
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    assert documented <= used, f"documented but unused: {sorted(documented - used)}"
    assert used == set(SAMPLE_VARS)


def test_the_deploy_script_supplies_every_template_variable():
    cfg = {**deploy.DEFAULTS, **SAMPLE_VARS, "region": "us-east-1"}
    variables = deploy.template_vars(cfg, image="img:sha", version="sha")
    used = set().union(*(deploy.template_variables(path) for path in TEMPLATES))
    assert used <= set(variables)


def test_values_are_json_escaped_by_the_python_renderer():
    tricky = {**SAMPLE_VARS, "allowed_hosts": 'a"b\\c'}
    container = deploy.render_template(deploy.CONTAINER_TEMPLATES["web"], tricky)[0]
    assert environment(container)["DJANGO_ALLOWED_HOSTS"] == 'a"b\\c'


def test_a_missing_variable_is_a_config_error():
    incomplete = {k: v for k, v in SAMPLE_VARS.items() if k != "image"}
    with pytest.raises(deploy.ConfigError, match="image"):
        deploy.render_template(deploy.CONTAINER_TEMPLATES["web"], incomplete)


# -- the full RegisterTaskDefinition input --------------------------------------------------------

@pytest.mark.parametrize("with_adot", [False, True], ids=["plain", "adot"])
@pytest.mark.parametrize("kind", ["web", "worker"])
def test_register_input_is_valid_for_botocore(kind, with_adot):
    operation = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition")
    report = ParamValidator().validate(task_definition(kind, with_adot=with_adot), operation.input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_task_level_settings(kind):
    definition = task_definition(kind)
    assert definition["networkMode"] == "awsvpc"
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("256", "512")  # 0.25 vCPU / 512 MiB by default
    assert definition["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
    assert definition["executionRoleArn"].endswith("activelog-ecs-execution")
    assert definition["taskRoleArn"].endswith("activelog-ecs-task")
    assert definition["volumes"] == [{"name": "tmp"}]  # bind mount on task ephemeral storage


def test_cpu_and_memory_are_variables_with_small_defaults():
    assert (deploy.TASK_DEFAULTS["cpu"], deploy.TASK_DEFAULTS["memory"]) == (256, 512)
    bigger = task_definition("web", cpu=512, memory=1024, cpu_architecture="ARM64")
    assert (bigger["cpu"], bigger["memory"]) == ("512", "1024")
    assert bigger["runtimePlatform"]["cpuArchitecture"] == "ARM64"


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_secrets_come_only_from_secrets_manager(kind):
    container = app_container(task_definition(kind))
    secrets = {item["name"]: item for item in container["secrets"]}
    assert set(secrets) == SECRET_NAMES
    for item in secrets.values():
        assert set(item) == {"name", "valueFrom"}
        assert item["valueFrom"].startswith("arn:aws:secretsmanager:")
    assert not SECRET_NAMES & set(environment(container))
    assert not any(
        name for name in environment(container) if re.search(r"SECRET|PASSWORD|TOKEN|_KEY$", name)
    ), "something secret-looking sits in plain environment"


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_hardened_container(kind):
    definition = task_definition(kind)
    container = app_container(definition)
    assert container["essential"] is True
    assert container["readonlyRootFilesystem"] is True
    assert container["user"] == "10001"
    assert container["user"] not in ("0", "root")
    assert container["privileged"] is False
    assert container["linuxParameters"]["initProcessEnabled"] is True
    assert GUNICORN_GRACEFUL_TIMEOUT < container["stopTimeout"] <= 120  # 120 s is Fargate's maximum
    assert container["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert {v["name"] for v in definition["volumes"]} >= {"tmp"}
    assert container["image"] == SAMPLE_VARS["image"]


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_awslogs(kind):
    log = app_container(task_definition(kind))["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"] == {
        "awslogs-group": SAMPLE_VARS["log_group"],
        "awslogs-region": SAMPLE_VARS["aws_region"],
        "awslogs-stream-prefix": kind,
    }


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_production_environment(kind):
    env = environment(app_container(task_definition(kind)))
    assert env["DJANGO_ENV"] == "production"
    assert env["NUM_PROXIES"] == "1"
    assert env["DJANGO_ALLOWED_HOSTS"] == "activelog.example.com"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://activelog.example.com"
    assert env["AWS_STORAGE_BUCKET_NAME"] == SAMPLE_VARS["media_bucket"]
    assert env["AWS_REGION"] == env["AWS_S3_REGION_NAME"] == "us-east-1"
    assert env["APP_VERSION"] == SAMPLE_VARS["app_version"]
    assert env["CLOUDWATCH_LOG_GROUP"] == "/activelog/app"
    assert env["OTEL_SERVICE_NAME"] == f"activelog-{kind}"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318"
    assert env["OTEL_AWS_XRAY"] == "true"  # the sidecar exports to X-Ray: X-Ray trace ids
    assert env["OTEL_SDK_DISABLED"] == "true"  # SAMPLE_VARS: no sidecar, no tracing
    assert env["DATABASE_POOL_MAX_SIZE"] == "4"
    assert all(value != "" for value in env.values()), "ECS drops empty values (Terraform then diffs forever)"


def test_web_container():
    container = app_container(task_definition("web"))
    assert container["name"] == "web"
    assert "command" not in container  # the image CMD: gunicorn -c gunicorn.conf.py activelog.wsgi
    assert container["portMappings"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
    env = environment(container)
    assert env["PORT"] == "8080"
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert (env["GUNICORN_WORKERS"], env["GUNICORN_THREADS"]) == ("2", "4")


def test_web_health_check_is_python_against_liveness():
    check = app_container(task_definition("web"))["healthCheck"]
    command = check["command"]
    assert command[:3] == ["CMD", "python", "-c"]
    assert "http://127.0.0.1:8080/health/live" in command[3]
    assert "curl" not in " ".join(command) and "wget" not in " ".join(command)
    compile(command[3], "<healthcheck>", "exec")  # the inline Python is valid
    assert (check["interval"], check["timeout"], check["retries"], check["startPeriod"]) == (15, 5, 3, 30)


def test_worker_container():
    container = app_container(task_definition("worker"))
    assert container["name"] == "worker"
    assert container["command"] == ["celery", "-A", "activelog", "worker", "--loglevel", "INFO", "--concurrency", "2"]
    assert "healthCheck" not in container
    env = environment(container)
    assert "PORT" not in env and "GUNICORN_WORKERS" not in env


def test_worker_serves_its_metrics_on_9808_for_prometheus():
    """activelog/celery.py starts the worker's /metrics on CELERY_METRICS_PORT; the pool processes'
    samples reach it through the multiprocess directory (the exports counters are incremented there)."""
    container = app_container(task_definition("worker"))
    env = environment(container)
    assert env["CELERY_METRICS_PORT"] == "9808"
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")  # the writable volume
    assert container["portMappings"] == [{"containerPort": 9808, "hostPort": 9808, "protocol": "tcp"}]


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_adot_sidecar_is_appended_only_on_request(kind):
    assert len(task_definition(kind)["containerDefinitions"]) == 1
    containers = task_definition(kind, with_adot=True)["containerDefinitions"]
    assert [c["name"] for c in containers] == [kind, "aws-otel-collector"]
    adot = containers[1]
    assert adot["essential"] is False
    assert adot["image"].startswith("public.ecr.aws/aws-observability/aws-otel-collector:")
    assert adot["command"] == ["--config=/etc/ecs/ecs-default-config.yaml"]
    assert adot["logConfiguration"]["options"]["awslogs-stream-prefix"] == "adot"
    assert "secrets" not in adot


def test_adot_switches_the_sdk_on():
    base = {**deploy.DEFAULTS, **SAMPLE_VARS, "region": "us-east-1"}
    assert deploy.template_vars({**base, "with_adot": True}, image="i", version="v")["otel_sdk_disabled"] is False
    assert deploy.template_vars({**base, "with_adot": False}, image="i", version="v")["otel_sdk_disabled"] is True
    rendered = deploy.render_template(deploy.CONTAINER_TEMPLATES["web"], {**SAMPLE_VARS, "otel_sdk_disabled": False})
    assert environment(rendered[0])["OTEL_SDK_DISABLED"] == "false"


# -- registered against (moto's) ECS -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["web", "worker"])
def test_register_and_read_back(ecs_taskdef_moto, monkeypatch, kind):
    set_dummy_credentials(monkeypatch)
    fresh_moto_account(monkeypatch)
    ecs = client("ecs", ecs_taskdef_moto)
    definition = task_definition(kind, with_adot=True)

    registered = ecs.register_task_definition(**definition)["taskDefinition"]
    assert registered["revision"] == 1
    back = ecs.describe_task_definition(taskDefinition=f"activelog-{kind}")["taskDefinition"]

    assert back["taskDefinitionArn"] == registered["taskDefinitionArn"]
    assert deploy.matches(definition, back)  # what the deploy script uses to reuse identical revisions
    container = back["containerDefinitions"][0]
    assert {s["name"] for s in container["secrets"]} == SECRET_NAMES
    assert container["readonlyRootFilesystem"] is True
    assert back["cpu"] == "256" and back["memory"] == "512"
    assert back["requiresCompatibilities"] == ["FARGATE"]

    changed = task_definition(kind, with_adot=True, cpu=512, memory=1024)
    assert not deploy.matches(changed, back)


def test_example_config_is_complete():
    args = deploy.parse_args(["--config", str(ECS_DIR / "config.example.json")])
    for name in ("dry_run", "verbose", "allow_dirty", "git_sha"):
        delattr(args, name)
    cfg = deploy.load_config(args, environ={})
    assert cfg["smoke_url"] == "https://activelog.example.com/health"
    deploy.Deployer(cfg, sha="0" * 40).check_templates()


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_every_variable_given_to_the_app_is_read_by_the_app(kind):
    """A typo in a template (GUNICORN_WOKERS) would otherwise be silently ignored in production."""
    root = ECS_DIR.parent.parent
    sources = [root / "gunicorn.conf.py", *[
        path for package in ("activelog", "accounts", "activities", "health")
        for path in (root / package).rglob("*.py") if "migrations" not in path.parts
    ]]
    text = "\n".join(path.read_text() for path in sources if path.exists())
    container = app_container(task_definition(kind))
    names = set(environment(container)) | {item["name"] for item in container["secrets"]}
    # Read by the OpenTelemetry SDK itself (its standard configuration variables), not by our code.
    names -= {"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}
    unread = sorted(name for name in names if not re.search(rf"\b{name}\b", text))
    assert not unread, f"nothing in the app reads {unread}"


def test_only_the_worker_sets_database_timeouts():
    """The worker's reports run long queries; the web container leaves the per-process defaults,
    because the migration task runs with its environment (and migrations need no timeout)."""
    worker = environment(app_container(task_definition("worker")))
    assert float(worker["DATABASE_STATEMENT_TIMEOUT"]) > 5
    assert 0 < float(worker["DATABASE_LOCK_TIMEOUT"]) <= float(worker["DATABASE_STATEMENT_TIMEOUT"])
    web = environment(app_container(task_definition("web")))
    assert not {"DATABASE_STATEMENT_TIMEOUT", "DATABASE_LOCK_TIMEOUT"} & set(web)
