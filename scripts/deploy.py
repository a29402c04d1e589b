#!/usr/bin/env python3
"""Ship a new version of ActiveLog to ECS Fargate.

Steps (each prints ``[n/7]``):

1. build the image and push it to ECR, tagged with the git SHA (tags are immutable: an existing
   tag is reused, never pushed twice);
2. render ``infra/ecs/*.containers.json.tpl`` with that image and register the web and worker task
   definitions (an identical latest revision is reused, so re-runs do not pile up revisions);
3. run ``python manage.py migrate --noinput`` as a one-off Fargate task from the new web task
   definition and stop on a non-zero exit code;
4. point the web and worker services at the new task definitions;
5. wait until both services are stable (and really run the new revision: the ECS circuit breaker
   may have rolled back on its own);
6. smoke-test ``GET https://<domain>/health`` through the public URL;
7. done.

If any step after the registration fails, both services are put back on the task definitions
they ran when the script started, the script waits for them to be stable and exits non-zero.
Migrations are never reversed: they must be backwards compatible with the previous release.

``--dry-run`` makes only read-only AWS calls and prints what would happen. Secret values are never
read or printed: the script only checks that the referenced Secrets Manager secrets exist.

Exit codes: 0 deployed, 1 deploy failed (services rolled back if they had been touched),
2 configuration error, 3 deploy failed AND the rollback failed (act by hand, see infra/README.md).

Run ``python scripts/deploy.py --help`` for the options; ``infra/ecs/config.example.json`` shows a
configuration file; ``infra/README.md`` is the runbook.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
ECS_DIR = REPO_ROOT / "infra" / "ecs"
CONTAINER_TEMPLATES = {"web": ECS_DIR / "web.containers.json.tpl", "worker": ECS_DIR / "worker.containers.json.tpl"}
ADOT_TEMPLATE = ECS_DIR / "adot.container.json.tpl"
APP_CONTAINERS = {"web": "web", "worker": "worker"}
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
SECRET_ENV_NAMES = (
    "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "DATABASE_USER", "DATABASE_PASSWORD", "REDIS_URL",
    "CELERY_BROKER_URL", "METRICS_TOKEN",
)
SECRET_KEYS = {
    "DJANGO_SECRET_KEY": "django_secret_key_secret_arn",
    "JWT_SIGNING_KEY": "jwt_signing_key_secret_arn",
    "DATABASE_URL": "database_url_secret_arn",
    # The rotated application database user (JSON keys username/password of one secret).
    "DATABASE_USER": "app_db_secret_arn",
    "DATABASE_PASSWORD": "app_db_secret_arn",
    "REDIS_URL": "redis_url_secret_arn",
    "CELERY_BROKER_URL": "celery_broker_url_secret_arn",
    "METRICS_TOKEN": "metrics_token_secret_arn",
}
TOTAL_STEPS = 7
STARTED_BY = "activelog-deploy"

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_ROLLBACK_FAILED = 0, 1, 2, 3

DEFAULTS: dict[str, Any] = {
    "app_name": "activelog",
    "gunicorn_workers": 2,
    "gunicorn_threads": 4,
    "database_pool_max_size": 4,
    "worker_concurrency": 2,
    "with_adot": False,
    "adot_image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1",
    "assign_public_ip": False,
    "platform_version": "LATEST",
    "stable_timeout": 900,
    "migration_timeout": 900,
    "poll_interval": 15,
    "smoke_retries": 10,
    "smoke_interval": 6,
    "smoke_timeout": 10,
}
# Task-level settings: configuration first, else those of the revision the service runs now (so a
# deploy never silently resizes a service that Terraform sized), else these.
TASK_DEFAULTS: dict[str, Any] = {"cpu": 256, "memory": 512, "cpu_architecture": "X86_64"}
DOCKER_PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}
REQUIRED = (
    "region", "cluster", "web_service", "worker_service", "domain", "subnets", "security_groups",
    "app_log_group", "media_bucket", *dict.fromkeys(SECRET_KEYS.values()),
)
LIST_KEYS = ("subnets", "security_groups")
BOOL_KEYS = ("with_adot", "assign_public_ip")
INT_KEYS = (
    "web_cpu", "web_memory", "worker_cpu", "worker_memory", "stable_timeout", "migration_timeout",
    "smoke_retries",
)
FLOAT_KEYS = ("smoke_interval", "poll_interval", "smoke_timeout")
ENV_PREFIX = "ACTIVELOG_DEPLOY_"


class DeployError(Exception):
    """A step failed; the message says which and why (never with a secret in it)."""


class ConfigError(Exception):
    """The configuration is incomplete or invalid."""


# --------------------------------------------------------------------------------------------
# Templates and task definitions (also used by the tests and, in spirit, by infra/terraform)
# --------------------------------------------------------------------------------------------

def template_variables(path: Path) -> set[str]:
    """The ``${name}`` placeholders of a template."""
    return set(string.Template(Path(path).read_text()).get_identifiers())


def _template_value(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    # Every placeholder sits inside a JSON string: escape quotes/backslashes/control characters.
    return json.dumps(text)[1:-1]


def render_template(path: Path, variables: Mapping[str, Any]) -> Any:
    """Render a ``${name}`` template like Terraform's templatefile() would and parse the JSON."""
    missing = template_variables(path) - set(variables)
    if missing:
        raise ConfigError(f"{Path(path).name}: no value for {', '.join(sorted(missing))}")
    text = string.Template(Path(path).read_text()).substitute({k: _template_value(v) for k, v in variables.items()})
    return json.loads(text)


def container_definitions(kind: str, variables: Mapping[str, Any], *, with_adot: bool = False) -> list[dict]:
    containers = render_template(CONTAINER_TEMPLATES[kind], variables)
    if with_adot:
        containers.append(render_template(ADOT_TEMPLATE, variables))
    return containers


def build_task_definition(
    kind: str,
    variables: Mapping[str, Any],
    *,
    family: str,
    execution_role_arn: str,
    task_role_arn: str,
    cpu: int | str = TASK_DEFAULTS["cpu"],
    memory: int | str = TASK_DEFAULTS["memory"],
    cpu_architecture: str = TASK_DEFAULTS["cpu_architecture"],
    with_adot: bool = False,
) -> dict[str, Any]:
    """The complete RegisterTaskDefinition input for the ``web`` or ``worker`` task."""
    return {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(cpu),
        "memory": str(memory),
        "executionRoleArn": execution_role_arn,
        "taskRoleArn": task_role_arn,
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": cpu_architecture},
        "volumes": [{"name": "tmp"}],
        "containerDefinitions": container_definitions(kind, variables, with_adot=with_adot),
    }


def matches(desired: Any, actual: Any) -> bool:
    """True when every field of ``desired`` is present with the same value in ``actual``.

    ECS echoes a registered task definition back with extra defaults (``cpu: 0`` per container,
    empty lists, ARNs, revision...), so a revision "is the same" when it contains what we would
    register. Lists of named objects (environment, secrets) are compared by name.
    """
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in desired.items()
                                                if v not in ([], {}) or k in actual)
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(desired) != len(actual):
            return False
        if all(isinstance(x, dict) and "name" in x for x in desired + actual):
            desired = sorted(desired, key=lambda x: x["name"])
            actual = sorted(actual, key=lambda x: x["name"])
        return all(matches(d, a) for d, a in zip(desired, actual, strict=True))
    return desired == actual or str(desired) == str(actual)


# --------------------------------------------------------------------------------------------
# Configuration: defaults < --terraform-outputs < --config file < ACTIVELOG_DEPLOY_* env < options
# --------------------------------------------------------------------------------------------

def _coerce(key: str, value: Any) -> Any:
    if key in LIST_KEYS and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if key in BOOL_KEYS and isinstance(value, str):
        if value.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ConfigError(f"{key}: expected a boolean, got {value!r}")
        return value.strip().lower() in ("1", "true", "yes", "on")
    try:
        if key in INT_KEYS:
            return int(value)
        if key in FLOAT_KEYS:
            return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: expected a number, got {value!r}") from exc
    return value


def from_terraform_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Configuration from ``terraform output -json`` of infra/terraform (see its outputs.tf)."""

    def value(name: str) -> Any:
        item = outputs.get(name)
        return item.get("value") if isinstance(item, dict) and "value" in item else item

    cfg: dict[str, Any] = {}
    variables = dict(value("ecs_template_variables") or {})
    for ignored in ("image", "app_version", "aws_region", "otel_sdk_disabled"):
        variables.pop(ignored, None)
    cfg.update(variables)
    template_region = (value("ecs_template_variables") or {}).get("aws_region")
    if template_region:
        cfg["region"] = template_region
    if "otel_sdk_disabled" in (value("ecs_template_variables") or {}):
        cfg["with_adot"] = str(value("ecs_template_variables")["otel_sdk_disabled"]).lower() == "false"
    if value("ecs_cluster_name"):
        cfg["cluster"] = value("ecs_cluster_name")
    services = value("ecs_services") or {}
    families = value("ecs_task_definition_families") or {}
    for kind in ("web", "worker"):
        if services.get(kind):
            cfg[f"{kind}_service"] = services[kind]
        if families.get(kind):
            cfg[f"{kind}_family"] = families[kind]
    roles = value("ecs_task_role_arns") or {}
    if roles.get("execution"):
        cfg["execution_role_arn"] = roles["execution"]
    if roles.get("task"):
        cfg["task_role_arn"] = roles["task"]
    network = value("one_off_task_network") or {}
    if network.get("subnets"):
        cfg["subnets"] = list(network["subnets"])
    if network.get("securityGroups"):
        cfg["security_groups"] = list(network["securityGroups"])
    if network.get("assignPublicIp"):
        cfg["assign_public_ip"] = network["assignPublicIp"] == "ENABLED"
    if value("ecr_repository_url"):
        cfg["ecr_repository"] = str(value("ecr_repository_url")).split("/", 1)[-1]
    if value("app_url"):
        cfg["domain"] = str(value("app_url")).split("://", 1)[-1].split("/", 1)[0]
    return cfg


def load_config(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(DEFAULTS)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        cfg["region"] = region
    outputs_path = getattr(args, "terraform_outputs", None) or environ.get(ENV_PREFIX + "TERRAFORM_OUTPUTS")
    if outputs_path:
        try:
            cfg.update(from_terraform_outputs(json.loads(Path(outputs_path).read_text())))
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigError(f"cannot read Terraform outputs {outputs_path}: {exc}") from exc
    config_path = args.config or environ.get(ENV_PREFIX + "CONFIG")
    if config_path:
        try:
            data = json.loads(Path(config_path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read config file {config_path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {config_path} must hold a JSON object")
        cfg.update(data)
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and name not in (ENV_PREFIX + "CONFIG", ENV_PREFIX + "TERRAFORM_OUTPUTS"):
            cfg[name[len(ENV_PREFIX):].lower()] = value
    for key, value in vars(args).items():
        if key not in ("config", "terraform_outputs") and value is not None:
            cfg[key] = value
    cfg = {key: _coerce(key, value) for key, value in cfg.items()}

    app = cfg["app_name"]
    cfg.setdefault("web_family", f"{app}-web")
    cfg.setdefault("worker_family", f"{app}-worker")
    cfg.setdefault("web_service", f"{app}-web")
    cfg.setdefault("worker_service", f"{app}-worker")
    if cfg.get("domain"):
        cfg.setdefault("allowed_hosts", cfg["domain"])
        cfg.setdefault("csrf_trusted_origins", f"https://{cfg['domain']}")
        cfg.setdefault("smoke_url", f"https://{cfg['domain']}/health")
    required = REQUIRED if cfg.get("image") else (*REQUIRED, "ecr_repository")
    missing = [key for key in required if cfg.get(key) in (None, "", [])]
    if not cfg.get("log_group") and not (cfg.get("web_log_group") and cfg.get("worker_log_group")):
        missing.append("log_group (or web_log_group and worker_log_group)")
    if missing:
        raise ConfigError(
            "missing configuration: " + ", ".join(missing)
            + f" (set them in --config, as {ENV_PREFIX}<NAME> or on the command line)"
        )
    if not str(cfg["smoke_url"]).startswith(("https://", "http://")):
        raise ConfigError("smoke_url must be an http(s) URL")
    if cfg.get("cpu_architecture") and cfg["cpu_architecture"] not in DOCKER_PLATFORMS:
        raise ConfigError(f"cpu_architecture must be one of {', '.join(DOCKER_PLATFORMS)}")
    return cfg


def template_vars(cfg: Mapping[str, Any], *, image: str, version: str, kind: str = "web") -> dict[str, Any]:
    """Every ${variable} of infra/ecs/*.tpl, from the configuration (see infra/ecs/README.md)."""
    names = ("app_name", "app_log_group", "allowed_hosts", "csrf_trusted_origins", "media_bucket",
             "gunicorn_workers", "gunicorn_threads", "database_pool_max_size", "worker_concurrency", "adot_image",
             *dict.fromkeys(SECRET_KEYS.values()))
    values = {name: cfg[name] for name in names}
    values.update(
        image=image,
        app_version=version,
        aws_region=cfg["region"],
        otel_sdk_disabled=not cfg["with_adot"],
        log_group=cfg.get(f"{kind}_log_group") or cfg["log_group"],
    )
    return values


def git_sha(allow_dirty: bool) -> str:
    git = shutil.which("git")
    if not git:
        raise ConfigError("git is not installed: pass --git-sha")
    try:
        sha = subprocess.run(  # noqa: S603 - fixed argv, no shell: read the commit being deployed
            [git, "rev-parse", "HEAD"], cwd=REPO_ROOT, check=True, capture_output=True, text=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, check=True,
            capture_output=True, text=True,
        ).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise ConfigError(f"cannot read the git commit: {exc.stderr.strip()}") from exc
    if dirty and not allow_dirty:
        raise ConfigError(
            "the working tree has uncommitted changes: an image tagged with the commit SHA must be built from "
            "that commit (commit first, or pass --allow-dirty / --git-sha knowingly)"
        )
    return sha


# --------------------------------------------------------------------------------------------
# AWS boundary (the tests replace these to inject failures moto cannot produce)
# --------------------------------------------------------------------------------------------

def make_client(service: str, *, region: str, endpoint_url: str | None = None):
    import boto3  # imported here so that --help works without boto3

    # boto3 also honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> by itself.
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url or None)


def container_exit_code(task: Mapping[str, Any], container_name: str) -> int | None:
    """Exit code of one container of a stopped task (None when it never ran)."""
    for container in task.get("containers", []):
        if container.get("name") == container_name:
            return container.get("exitCode")
    return None


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"refusing to fetch non-HTTP URL {url!r}")
    headers = {"User-Agent": "activelog-deploy", "Accept": "application/json"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            return response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536)


# --------------------------------------------------------------------------------------------
# The deploy
# --------------------------------------------------------------------------------------------

def _short(arn: str | None) -> str:
    """``family:revision`` of a task definition ARN (readable, and the form the AWS CLI accepts)."""
    return arn.rsplit("/", 1)[-1] if arn else "(none)"


def _secret_id(value_from: str) -> str:
    """The secret ARN without a ``:json-key:version-stage:version-id`` suffix."""
    parts = value_from.split(":")
    return ":".join(parts[:7]) if value_from.startswith("arn:") and len(parts) > 7 else value_from


class Deployer:
    def __init__(self, cfg: Mapping[str, Any], *, sha: str, dry_run: bool = False, verbose: bool = False,
                 out: Callable[[str], None] | None = None):
        self.cfg = dict(cfg)
        self.sha = sha
        self.dry_run = dry_run
        self.verbose = verbose
        self._out = out or (lambda line: print(line, flush=True))
        self._clients: dict[str, Any] = {}
        self.services = {"web": self.cfg["web_service"], "worker": self.cfg["worker_service"]}
        self.previous: dict[str, str] = {}
        self.target: dict[str, str] = {}
        self.current_definitions: dict[str, dict] = {}
        self.image = self.cfg.get("image") or ""
        self.problems: list[str] = []

    # -- plumbing ------------------------------------------------------------------------------
    def say(self, line: str = "") -> None:
        self._out(line)

    def step(self, number: int, title: str) -> None:
        self.say(f"[{number}/{TOTAL_STEPS}] {title}{' (dry run)' if self.dry_run else ''}")

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = make_client(
                service, region=self.cfg["region"], endpoint_url=self.cfg.get("endpoint_url"),
            )
        return self._clients[service]

    def wait_services_stable(self, services: Iterable[str], timeout: int) -> None:
        delay = max(1, round(float(self.cfg["poll_interval"])))  # waiters take whole seconds
        self.client("ecs").get_waiter("services_stable").wait(
            cluster=self.cfg["cluster"], services=list(services),
            WaiterConfig={"Delay": delay, "MaxAttempts": max(1, timeout // delay)},
        )

    def describe_services(self) -> dict[str, dict]:
        names = list(self.services.values())
        response = self.client("ecs").describe_services(cluster=self.cfg["cluster"], services=names)
        found = {s["serviceName"]: s for s in response.get("services", []) if s.get("status") == "ACTIVE"}
        missing = [n for n in names if n not in found]
        if missing:
            raise DeployError(
                f"service(s) {', '.join(missing)} not found (or not ACTIVE) in cluster {self.cfg['cluster']}: "
                "create them with infra/terraform first"
            )
        return {kind: found[name] for kind, name in self.services.items()}

    # -- preflight -----------------------------------------------------------------------------
    def preflight(self) -> None:
        self.say("Preflight: current state")
        for kind, service in self.describe_services().items():
            self.previous[kind] = service["taskDefinition"]
            # Task-level settings are inherited from the family's latest ACTIVE revision: after a
            # `terraform apply` that resized the task, that is Terraform's new revision.
            self.current_definitions[kind] = self.latest_revision(self.cfg[f"{kind}_family"]) or (
                self.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"])
            self.say(f"  {self.services[kind]}: running {_short(service['taskDefinition'])} "
                     f"({service.get('runningCount', '?')}/{service.get('desiredCount', '?')} tasks)")
        sm = self.client("secretsmanager")
        for env_name, key in SECRET_KEYS.items():
            secret_id = _secret_id(self.cfg[key])
            try:
                sm.describe_secret(SecretId=secret_id)  # metadata only; the value is never read
            except Exception as exc:
                raise DeployError(f"secret for {env_name} not found or not readable ({secret_id}): "
                                  f"{_aws_error(exc)}") from exc
        self.say(f"  secrets present in Secrets Manager: {', '.join(SECRET_KEYS)}")

    # -- 1 -------------------------------------------------------------------------------------
    def build_and_push(self) -> None:
        self.step(1, "Build and push the image")
        if self.cfg.get("image"):
            self.say(f"  using the given image {self.image} (no build, no push)")
            return
        ecr = self.client("ecr")
        repo_name = self.cfg["ecr_repository"]
        try:
            repo = ecr.describe_repositories(repositoryNames=[repo_name])["repositories"][0]
        except Exception as exc:
            raise DeployError(f"ECR repository {repo_name} not found: {_aws_error(exc)}") from exc
        uri = repo["repositoryUri"]
        self.image = f"{uri}:{self.sha}"
        if self.image_exists(repo_name):
            self.say(f"  {self.image} is already in ECR (tags are immutable): skipping build and push")
            return
        if self.cfg.get("skip_build"):
            message = (f"--skip-build given but {self.image} is not in ECR: build and push it first "
                       "(or run without --skip-build where Docker is available)")
            if self.dry_run:
                self.problems.append(message)
                self.say(f"  WOULD FAIL: {message}")
                return
            raise DeployError(message)
        platform = self.cfg.get("docker_platform") or DOCKER_PLATFORMS[self.task_setting("web", "cpu_architecture")]
        build = ["docker", "build", "--platform", platform, "--label",
                 f"org.opencontainers.image.revision={self.sha}", "-t", self.image, str(REPO_ROOT)]
        push = ["docker", "push", self.image]
        if self.dry_run:
            self.say(f"  would log in to {uri.split('/')[0]}, then run: {' '.join(build)}")
            self.say(f"  would run: {' '.join(push)}")
            return
        docker = shutil.which("docker")
        if not docker:
            raise DeployError("docker is not installed: build elsewhere and use --skip-build")
        self.docker_login(docker, uri.split("/")[0])
        self.say(f"  $ {' '.join(build)}")
        self._run([docker, *build[1:]])
        self.say(f"  $ {' '.join(push)}")
        try:
            self._run([docker, *push[1:]])
        except DeployError:
            # A concurrent deploy of the same commit may have pushed the (immutable) tag meanwhile.
            if not self.image_exists(repo_name):
                raise
            self.say("  push refused but the tag is now in ECR (pushed concurrently): continuing")
        self.say(f"  pushed {self.image}")

    def image_exists(self, repo_name: str) -> bool:
        ecr = self.client("ecr")
        try:
            images = ecr.describe_images(repositoryName=repo_name, imageIds=[{"imageTag": self.sha}])
        except ecr.exceptions.ImageNotFoundException:
            return False
        return bool(images.get("imageDetails"))

    def docker_login(self, docker: str, registry: str) -> None:
        token = self.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, password = base64.b64decode(token).decode().split(":", 1)
        self.say(f"  $ docker login --username {user} --password-stdin {registry}")
        self._run([docker, "login", "--username", user, "--password-stdin", registry], stdin=password)

    @staticmethod
    def _run(argv: list[str], stdin: str | None = None) -> None:
        result = subprocess.run(argv, input=stdin, text=True, check=False)  # noqa: S603 - argv built here, no shell
        if result.returncode != 0:
            raise DeployError(f"{' '.join(argv[:2])} failed with exit code {result.returncode}")

    # -- 2 -------------------------------------------------------------------------------------
    def check_templates(self) -> None:
        """Render both task definitions once before touching AWS: a template/config mismatch is a ConfigError."""
        for kind in ("web", "worker"):
            build_task_definition(
                kind, template_vars(self.cfg, image=self.image or "example.invalid/activelog:check",
                                    version=self.sha, kind=kind),
                family=self.cfg[f"{kind}_family"], execution_role_arn="check", task_role_arn="check",
            )

    def task_setting(self, kind: str, name: str) -> Any:
        """cpu, memory, cpu_architecture, execution_role_arn, task_role_arn of the new revision.

        Configuration (``web_cpu``, ``execution_role_arn``...) first, else the value of the revision
        the service runs now (Terraform sized it), else the default.
        """
        for key in (f"{kind}_{name}", name):
            if self.cfg.get(key) not in (None, ""):
                return self.cfg[key]
        current = self.current_definitions.get(kind) or {}
        inherited = {
            "cpu": current.get("cpu"),
            "memory": current.get("memory"),
            "cpu_architecture": (current.get("runtimePlatform") or {}).get("cpuArchitecture"),
            "execution_role_arn": current.get("executionRoleArn"),
            "task_role_arn": current.get("taskRoleArn"),
        }[name]
        if inherited not in (None, ""):
            return inherited
        if name in TASK_DEFAULTS:
            return TASK_DEFAULTS[name]
        raise DeployError(f"no {name} for the {kind} task definition: configure {name} "
                          f"(the current revision {_short(self.previous.get(kind))} has none)")

    def task_definitions(self) -> dict[str, dict]:
        return {
            kind: build_task_definition(
                kind, template_vars(self.cfg, image=self.image, version=self.sha, kind=kind),
                family=self.cfg[f"{kind}_family"],
                execution_role_arn=self.task_setting(kind, "execution_role_arn"),
                task_role_arn=self.task_setting(kind, "task_role_arn"),
                cpu=self.task_setting(kind, "cpu"),
                memory=self.task_setting(kind, "memory"),
                cpu_architecture=self.task_setting(kind, "cpu_architecture"),
                with_adot=bool(self.cfg["with_adot"]),
            )
            for kind in ("web", "worker")
        }

    def register(self) -> None:
        self.step(2, "Register task definitions")
        ecs = self.client("ecs")
        for kind, definition in self.task_definitions().items():
            family = definition["family"]
            names = ", ".join(c["name"] for c in definition["containerDefinitions"])
            summary = (f"{family}: image {self.image}, cpu {definition['cpu']}, memory {definition['memory']}, "
                       f"containers [{names}]")
            if self.verbose:
                self.say(json.dumps(definition, indent=2))
            latest = self.latest_revision(family)
            if latest and matches(definition, latest):
                self.target[kind] = latest["taskDefinitionArn"]
                self.say(f"  {summary}\n    identical to the latest revision {_short(latest['taskDefinitionArn'])}: "
                         "reusing it")
                continue
            if self.dry_run:
                self.target[kind] = f"{family}:<new>"
                self.say(f"  would register {summary} as a new revision {family}:<new>")
                continue
            registered = ecs.register_task_definition(**definition)["taskDefinition"]
            self.target[kind] = registered["taskDefinitionArn"]
            self.say(f"  registered {_short(registered['taskDefinitionArn'])} ({summary})")

    def latest_revision(self, family: str) -> dict | None:
        """The family's latest ACTIVE revision (None when it has none)."""
        ecs = self.client("ecs")
        try:
            latest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        except ecs.exceptions.ClientException:
            return None  # the family has no ACTIVE revision yet
        if latest.get("status", "ACTIVE") == "ACTIVE":
            return latest
        # Some implementations answer a bare family with the newest revision even when it is INACTIVE.
        arns = [
            arn
            for page in ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, status="ACTIVE", sort="DESC")
            for arn in page.get("taskDefinitionArns", [])
            if _short(arn).rsplit(":", 1)[0] == family  # familyPrefix is a prefix
        ]
        if not arns:
            return None
        newest = max(arns, key=lambda arn: int(arn.rsplit(":", 1)[-1]))
        return ecs.describe_task_definition(taskDefinition=newest)["taskDefinition"]

    # -- 3 -------------------------------------------------------------------------------------
    def migrate(self) -> None:
        self.step(3, "Run database migrations")
        container = APP_CONTAINERS["web"]
        network = {"awsvpcConfiguration": {
            "subnets": list(self.cfg["subnets"]),
            "securityGroups": list(self.cfg["security_groups"]),
            "assignPublicIp": "ENABLED" if self.cfg["assign_public_ip"] else "DISABLED",
        }}
        if self.dry_run:
            self.say(f"  would run a one-off Fargate task from {_short(self.target['web'])} in subnets "
                     f"{', '.join(self.cfg['subnets'])} with command: {' '.join(MIGRATE_COMMAND)}")
            return
        ecs = self.client("ecs")
        response = ecs.run_task(
            cluster=self.cfg["cluster"], taskDefinition=self.target["web"], count=1, launchType="FARGATE",
            platformVersion=self.cfg["platform_version"], networkConfiguration=network, startedBy=STARTED_BY,
            overrides={"containerOverrides": [{"name": container, "command": MIGRATE_COMMAND}]},
        )
        if response.get("failures") or not response.get("tasks"):
            reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip()
                                for f in response.get("failures", [])) or "no task started"
            raise DeployError(f"the migration task could not be started: {reasons}")
        task_arn = response["tasks"][0]["taskArn"]
        task_id = task_arn.rsplit("/", 1)[-1]
        self.say(f"  started {task_id}: {' '.join(MIGRATE_COMMAND)}")
        log_group = self.cfg.get("web_log_group") or self.cfg["log_group"]
        self.say(f"  logs: CloudWatch group {log_group}, stream web/{container}/{task_id}")
        task = self.wait_task_stopped(task_arn)
        code = container_exit_code(task, container)
        if code is None:
            raise DeployError(f"the migration task stopped without running: {task.get('stopCode', '')} "
                              f"{task.get('stoppedReason', 'no reason given')}".strip())
        if code != 0:
            raise DeployError(f"migrations failed (exit code {code}); see the task's logs above")
        self.say("  migrations applied (exit code 0)")

    def wait_task_stopped(self, task_arn: str) -> dict:
        ecs = self.client("ecs")
        timeout = int(self.cfg["migration_timeout"])
        deadline = time.monotonic() + timeout
        last_status = None
        while True:
            tasks = ecs.describe_tasks(cluster=self.cfg["cluster"], tasks=[task_arn]).get("tasks", [])
            if not tasks:
                raise DeployError(f"the migration task {task_arn} disappeared")
            task = tasks[0]
            if task.get("lastStatus") != last_status:
                last_status = task.get("lastStatus")
                self.say(f"  migration task: {last_status}")
            if last_status == "STOPPED":
                return task
            if time.monotonic() >= deadline:
                ecs.stop_task(cluster=self.cfg["cluster"], task=task_arn,
                              reason=f"{STARTED_BY}: migration timed out after {timeout}s")
                raise DeployError(f"the migration task did not finish within {timeout}s (stopped it)")
            time.sleep(float(self.cfg["poll_interval"]))

    # -- 4 -------------------------------------------------------------------------------------
    def update_services(self) -> None:
        self.step(4, "Update services")
        for kind in ("web", "worker"):
            service, target = self.services[kind], self.target[kind]
            if self.dry_run:
                self.say(f"  would update {service}: {_short(self.previous[kind])} -> {_short(target)}")
                continue
            if target == self.previous[kind]:
                # A re-run of a release that already reached this step: ECS is (or was) rolling it out.
                self.say(f"  {service}: already on {_short(target)} (no update needed)")
                continue
            self.client("ecs").update_service(cluster=self.cfg["cluster"], service=service, taskDefinition=target)
            self.say(f"  {service}: {_short(self.previous[kind])} -> {_short(target)}")

    # -- 5 -------------------------------------------------------------------------------------
    def wait_stable(self) -> None:
        self.step(5, "Wait for the services to become stable")
        timeout = int(self.cfg["stable_timeout"])
        if self.dry_run:
            self.say(f"  would wait up to {timeout}s for {', '.join(self.services.values())} (services_stable)")
            return
        self.say(f"  waiting up to {timeout}s for {', '.join(self.services.values())} ...")
        try:
            self.wait_services_stable(self.services.values(), timeout)
        except Exception as exc:
            raise DeployError(f"the services did not become stable within {timeout}s: {_aws_error(exc)}") from exc
        # The ECS deployment circuit breaker may have rolled back by itself: stable, but on the old revision.
        for kind, service in self.describe_services().items():
            running = service.get("taskDefinition")
            primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"
                            and d.get("taskDefinition") == running), {})
            if running != self.target[kind]:
                raise DeployError(f"{self.services[kind]} is stable on {_short(running)}, not "
                                  f"{_short(self.target[kind])} (the ECS circuit breaker rolled it back: "
                                  "see the service events)")
            if primary.get("rolloutState") == "FAILED":
                raise DeployError(f"{self.services[kind]}: rollout FAILED ({primary.get('rolloutStateReason', '')})")
            self.say(f"  {self.services[kind]}: stable on {_short(running)} "
                     f"({service.get('runningCount', '?')}/{service.get('desiredCount', '?')} tasks)")

    # -- 6 -------------------------------------------------------------------------------------
    def smoke_test(self) -> None:
        self.step(6, "Smoke-test the public URL")
        url = self.cfg["smoke_url"]
        retries, interval = int(self.cfg["smoke_retries"]), float(self.cfg["smoke_interval"])
        if self.dry_run:
            self.say(f"  would GET {url} (up to {retries} attempts) and expect 200 with status healthy/degraded")
            return
        last = ""
        for attempt in range(1, retries + 1):
            try:
                status, body = http_get(url, timeout=float(self.cfg["smoke_timeout"]))
            except (OSError, ValueError) as exc:
                last = f"request failed: {exc}"
            else:
                health = _json_or_none(body)
                state = health.get("status") if isinstance(health, dict) else None
                if status == 200 and state in ("healthy", "degraded"):
                    version = health.get("version")
                    self.say(f"  GET {url} -> 200 {state} (version {version}, attempt {attempt})")
                    if version not in (None, self.sha):
                        self.say(f"  note: /health reports version {version}, expected {self.sha}")
                    if state == "degraded":
                        self.say("  note: degraded = Redis or S3 is down; check /health's services")
                    return
                last = f"HTTP {status}, status {state!r}"
            self.say(f"  GET {url} -> {last} (attempt {attempt}/{retries})")
            if attempt < retries:
                time.sleep(interval)
        raise DeployError(f"smoke test failed: {url} -> {last}")

    # -- rollback ------------------------------------------------------------------------------
    def rollback(self) -> bool:
        """Put both services back on the task definitions recorded at the start. True when it worked."""
        self.say("Rolling back")
        ok = True
        ecs = self.client("ecs")
        for kind in ("web", "worker"):
            service, previous = self.services[kind], self.previous.get(kind)
            if not previous:
                continue
            try:
                current = ecs.describe_services(cluster=self.cfg["cluster"], services=[service])["services"][0]
                if current.get("taskDefinition") == previous:
                    self.say(f"  {service}: already on {_short(previous)} (not changed)")
                    continue
                ecs.update_service(cluster=self.cfg["cluster"], service=service, taskDefinition=previous)
                self.say(f"  {service}: {_short(current.get('taskDefinition'))} -> {_short(previous)}")
            except Exception as exc:
                ok = False
                self.say(f"  {service}: ROLLBACK FAILED: {_aws_error(exc)}")
        timeout = int(self.cfg["stable_timeout"])
        try:
            self.say(f"  waiting up to {timeout}s for the services to be stable on the previous revisions ...")
            self.wait_services_stable(self.services.values(), timeout)
            self.say("  services stable on the previous revisions")
        except Exception as exc:
            ok = False
            self.say(f"  services not stable after the rollback: {_aws_error(exc)}")
        if ok:
            self.deregister_failed_revisions()
        return ok

    def deregister_failed_revisions(self) -> None:
        """Deregister the revisions of the failed release so that "latest ACTIVE revision" (scheduled
        tasks, the next deploy's inherited settings) is again the one that runs. Never the previous one.
        """
        ecs = self.client("ecs")
        for kind, target in self.target.items():
            if target and target != self.previous.get(kind):
                try:
                    ecs.deregister_task_definition(taskDefinition=target)
                    self.say(f"  deregistered the failed revision {_short(target)}")
                except Exception as exc:  # cosmetic: the rollback itself has succeeded
                    self.say(f"  could not deregister {_short(target)}: {_aws_error(exc)}")

    # -- all -----------------------------------------------------------------------------------
    def run(self) -> int:
        mode = " [DRY RUN: read-only calls only]" if self.dry_run else ""
        self.say(f"Deploying ActiveLog {self.sha} to cluster {self.cfg['cluster']} ({self.cfg['region']}){mode}")
        try:
            self.preflight()
            self.build_and_push()
            self.register()
        except DeployError as exc:
            self.say(f"FAILED: {exc}")
            self.say("Nothing was deployed; the services were not changed.")
            return EXIT_FAILED
        try:
            self.migrate()
            self.update_services()
            self.wait_stable()
            self.smoke_test()
        except (Exception, KeyboardInterrupt) as exc:  # any failure after registration rolls back
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else (
                str(exc) if isinstance(exc, DeployError) else _aws_error(exc))
            self.say(f"FAILED: {reason}")
            if self.dry_run:
                return EXIT_FAILED
            if not self.rollback():
                self.say("ROLLBACK INCOMPLETE: fix by hand (infra/README.md, 'Rollback'): "
                         + ", ".join(f"{self.services[k]} -> {_short(v)}" for k, v in self.previous.items()))
                return EXIT_ROLLBACK_FAILED
            self.say("Deploy failed and was rolled back: "
                     + ", ".join(f"{self.services[k]} on {_short(v)}" for k, v in self.previous.items())
                     + ". Migrations, if any ran, were not reversed.")
            return EXIT_FAILED
        self.step(7, "Done")
        if self.problems:
            for problem in self.problems:
                self.say(f"  problem: {problem}")
            return EXIT_FAILED
        verb = "would run" if self.dry_run else "now runs"
        for kind in ("web", "worker"):
            self.say(f"  {self.services[kind]} {verb} {_short(self.target[kind])} "
                     f"(previous: {_short(self.previous[kind])})")
        self.say(f"  image {self.image}")
        return EXIT_OK


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _aws_error(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Build, push and deploy ActiveLog to ECS Fargate with migrations, smoke test and rollback.",
        epilog=("Values come from defaults < --terraform-outputs < --config JSON file (see "
                "infra/ecs/config.example.json) < "
                f"{ENV_PREFIX}<KEY> environment variables < these options. AWS credentials and region come "
                "from the usual AWS environment (AWS_PROFILE, AWS_REGION, ...); AWS_ENDPOINT_URL is honoured. "
                "Exit codes: 0 deployed, 1 failed (rolled back), 2 configuration error, 3 rollback failed."),
    )
    add = parser.add_argument
    add("--config", help="JSON configuration file (keys as in infra/ecs/config.example.json)")
    add("--terraform-outputs", dest="terraform_outputs",
        help="`terraform output -json` of infra/terraform: cluster, services, families, roles, network, "
             "template variables (the --config file and options override it)")
    add("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)")
    add("--cluster", help="ECS cluster name")
    add("--web-service", dest="web_service", help="ECS service of the web tasks")
    add("--worker-service", dest="worker_service", help="ECS service of the Celery worker")
    add("--ecr-repository", dest="ecr_repository", help="ECR repository name")
    add("--domain", help="public domain name; the smoke test GETs https://<domain>/health")
    add("--git-sha", dest="git_sha", help="commit to deploy (default: git rev-parse HEAD)")
    add("--image", help="deploy this existing image reference instead of building one")
    add("--skip-build", dest="skip_build", action="store_true", default=None,
        help="do not run docker: the image <repository>:<sha> must already be in ECR")
    add("--allow-dirty", dest="allow_dirty", action="store_true", help="allow uncommitted changes")
    add("--with-adot", dest="with_adot", action=argparse.BooleanOptionalAction, default=None,
        help="add the ADOT collector sidecar (traces to X-Ray)")
    add("--dry-run", dest="dry_run", action="store_true", help="print what would happen; no mutating AWS call")
    add("--verbose", "-v", action="store_true", help="print the rendered task definitions")
    add("--endpoint-url", dest="endpoint_url", help="AWS endpoint override (testing against moto/localstack)")
    add("--stable-timeout", dest="stable_timeout", type=int, help="seconds to wait for stable services (900)")
    add("--migration-timeout", dest="migration_timeout", type=int, help="seconds to wait for migrations (900)")
    add("--poll-interval", dest="poll_interval", type=float, help="seconds between AWS status polls (15)")
    add("--smoke-url", dest="smoke_url", help="health URL to smoke-test (default https://<domain>/health)")
    add("--smoke-retries", dest="smoke_retries", type=int, help="smoke-test attempts (10)")
    add("--smoke-interval", dest="smoke_interval", type=float, help="seconds between smoke-test attempts (6)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    environ = os.environ if environ is None else environ
    run_flags = {"dry_run": args.dry_run, "verbose": args.verbose}
    allow_dirty = args.allow_dirty
    sha_arg = args.git_sha
    for name in ("dry_run", "verbose", "allow_dirty", "git_sha"):
        delattr(args, name)
    try:
        cfg = load_config(args, environ)
        sha = sha_arg or environ.get(ENV_PREFIX + "GIT_SHA") or git_sha(allow_dirty)
        deployer = Deployer(cfg, sha=sha, **run_flags)
        deployer.check_templates()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return deployer.run()


if __name__ == "__main__":
    sys.exit(main())
