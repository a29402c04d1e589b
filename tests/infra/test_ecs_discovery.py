"""The ECS discovery sidecar of Prometheus (infra/prometheus/discovery/ecs_sd.py), against moto's ECS.

A moto server on localhost stands in for AWS; the program runs as the container runs it (a
subprocess with the task's command line, real boto3 over HTTP, AWS_ENDPOINT_URL pointing at moto),
and Prometheus' view is the file_sd JSON it writes (the last test has Debian's Prometheus read it
with the production prometheus.yml).

What moto lacks, and how the tests make up for it with moto's own state (never a fake response):
- a Fargate task in an awsvpc network gets its ENI (and so its private IP) only when the subnet's
  VPC has DNS host names enabled (moto reads the ENI's private DNS name): the VPC here enables
  them, as infra/terraform/network.tf does;
- tasks move to STOPPED as soon as they are described (moto's default "immediate" state
  progression): the tests set ecs::task to manual progression through moto's state-manager API
  and restore the default afterwards;
- ListTasks ignores serviceName and never paginates (one page, whatever maxResults): the tasks are
  started with the group "service:<name>" that ECS gives a service's tasks (the program checks the
  group as well), and pagination is asserted on the requests the program sends;
- a task has no health status or availability zone: the tests set them on moto's task objects
  (moto returns every attribute its response shape names) from the subnet each task runs in.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.infra.ecs_deploy_support import REGION, fresh_moto_account, set_dummy_credentials, start_moto

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "prometheus" / "discovery" / "ecs_sd.py"
CLUSTER = "activelog-prod"
WEB, WORKER = "web", "worker"
LABELS = {"environment", "task", "ecs_service", "ecs_task_revision", "availability_zone", "health_status"}
DNS_ANSWER_CAP = 8  # Cloud Map MULTIVALUE answers at most 8 healthy addresses


def load_program():
    spec = importlib.util.spec_from_file_location("ecs_sd", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ecs_sd = load_program()


# --- moto -----------------------------------------------------------------------------------------


def _moto_api(endpoint: str, path: str, body: dict) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/state-manager/{path}", data=json.dumps(body).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


@pytest.fixture(scope="module")
def moto_endpoint():
    server, endpoint = start_moto()
    # Keep tasks in the state a test puts them in (moto's default jumps to STOPPED on describe).
    _moto_api(endpoint, "set-transition", {"model_name": "ecs::task",
                                           "transition": {"progression": "manual", "times": 10**9}})
    yield endpoint
    _moto_api(endpoint, "unset-transition", {"model_name": "ecs::task"})
    server.stop()


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    set_dummy_credentials(monkeypatch)
    account = fresh_moto_account(monkeypatch)
    return moto_endpoint, account


def client(service: str, endpoint: str):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


class Cluster:
    """The production shape in moto: one cluster, the web and worker families, two private subnets."""

    def __init__(self, endpoint: str, account: str):
        from moto.ecs.models import ecs_backends

        self.endpoint, self.account = endpoint, account
        self.ecs, ec2 = client("ecs", endpoint), client("ec2", endpoint)
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # ENI IPs for awsvpc tasks
        self.subnets = {}
        for index, zone in enumerate((f"{REGION}a", f"{REGION}b")):
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{10 + index}.0/24", AvailabilityZone=zone)
            self.subnets[subnet["Subnet"]["SubnetId"]] = zone
        self.group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        self.ecs.create_cluster(clusterName=CLUSTER)
        for family, port in ((WEB, 8080), (WORKER, 9808)):
            self.ecs.register_task_definition(
                family=f"{CLUSTER}-{family}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                cpu="256", memory="512",
                containerDefinitions=[{"name": family, "image": "activelog:sha", "memory": 512,
                                       "portMappings": [{"containerPort": port}]}],
            )
        self.ecs.register_task_definition(  # a second revision of web: tasks of both run during a deploy
            family=f"{CLUSTER}-{WEB}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": WEB, "image": "activelog:sha2", "memory": 512}],
        )
        self.backend = ecs_backends[account][REGION]

    def run(self, service: str, count: int, *, revision: int = 1, group: str | None = None) -> list[str]:
        arns = []
        for index in range(count):
            subnet = list(self.subnets)[index % len(self.subnets)]
            tasks = self.ecs.run_task(
                cluster=CLUSTER, taskDefinition=f"{CLUSTER}-{service}:{revision}", count=1, launchType="FARGATE",
                group=group or f"service:{service}",
                networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [self.group],
                                                              "assignPublicIp": "DISABLED"}},
            )["tasks"]
            for task in tasks:
                arns.append(task["taskArn"])
                # What ECS reports and moto does not: the zone of the task's subnet, its health.
                moto_task = self.task(task["taskArn"])
                moto_task.availability_zone = self.subnets[subnet]
                moto_task.health_status = "HEALTHY"
        return arns

    def task(self, arn: str):
        return self.backend.tasks[CLUSTER][arn]

    def address(self, arn: str) -> str:
        (attachment,) = self.task(arn).attachments
        return {d["name"]: d["value"] for d in attachment["details"]}["privateIPv4Address"]


@pytest.fixture
def cluster(aws):
    return Cluster(*aws)


def run_program(endpoint: str, output_dir: Path, *extra: str, cluster_name: str = CLUSTER,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """The sidecar's command line (monitoring.tf), once."""
    argv = [sys.executable, str(PROGRAM), "--cluster", cluster_name,
            "--service", f"{WEB}=8080:web.json", "--service", f"{WORKER}=9808:worker.json",
            "--environment", "production", "--output-dir", str(output_dir), "--interval", "30", "--once", *extra]
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def read(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def by_task(groups: list[dict]) -> dict[str, dict]:
    return {group["labels"]["task"]: group for group in groups}


def short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# --- discovery ------------------------------------------------------------------------------------


def test_every_running_task_is_discovered_beyond_the_dns_cap_and_the_autoscaling_maximum(cluster, tmp_path):
    from tests.infra.test_terraform import load

    web_max = load().default("web_max_count")
    web = cluster.run(WEB, 12) + cluster.run(WEB, 2, revision=2)  # mid-deploy: two revisions side by side
    worker = cluster.run(WORKER, 3)

    result = run_program(cluster.endpoint, tmp_path)
    assert result.returncode == 0, result.stderr

    web_groups = by_task(read(tmp_path / "web.json"))
    assert len(web_groups) == 14 > max(DNS_ANSWER_CAP, web_max)
    assert set(web_groups) == {short(arn) for arn in web}
    for arn in web:
        group = web_groups[short(arn)]
        assert group["targets"] == [f"{cluster.address(arn)}:8080"]  # instance = task ip:port
        assert set(group["labels"]) == LABELS
        assert group["labels"]["environment"] == "production"
        assert group["labels"]["ecs_service"] == WEB
        assert group["labels"]["availability_zone"] == cluster.task(arn).availability_zone
        assert group["labels"]["health_status"] == "HEALTHY"
    assert sorted(g["labels"]["ecs_task_revision"] for g in web_groups.values()) == ["1"] * 12 + ["2"] * 2
    assert {g["labels"]["availability_zone"] for g in web_groups.values()} == {f"{REGION}a", f"{REGION}b"}

    worker_groups = by_task(read(tmp_path / "worker.json"))
    assert set(worker_groups) == {short(arn) for arn in worker}
    for arn in worker:
        assert worker_groups[short(arn)]["targets"] == [f"{cluster.address(arn)}:9808"]
        assert worker_groups[short(arn)]["labels"]["ecs_service"] == WORKER
    assert "web:" in result.stderr and "14 running task(s)" in result.stderr


def test_an_unhealthy_task_stays_a_target_with_its_health_label(cluster, tmp_path):
    """Cloud Map would drop it from DNS; here Prometheus keeps scraping it and shows up == 0."""
    web = cluster.run(WEB, 3)
    cluster.task(web[1]).health_status = "UNHEALTHY"

    assert run_program(cluster.endpoint, tmp_path).returncode == 0
    groups = by_task(read(tmp_path / "web.json"))
    assert set(groups) == {short(arn) for arn in web}
    assert groups[short(web[1])]["labels"]["health_status"] == "UNHEALTHY"
    assert groups[short(web[1])]["targets"] == [f"{cluster.address(web[1])}:8080"]
    assert {groups[short(arn)]["labels"]["health_status"] for arn in (web[0], web[2])} == {"HEALTHY"}


def test_stopped_pending_and_one_off_tasks_are_not_targets(cluster, tmp_path):
    web = cluster.run(WEB, 4)
    cluster.ecs.stop_task(cluster=CLUSTER, task=web[0], reason="scale in")
    cluster.task(web[1]).last_status = "PENDING"  # not serving yet: no address answers
    # A migration started from the web task definition (deploy script): not part of the service.
    migration = cluster.run(WEB, 1, group=f"family:{CLUSTER}-{WEB}")

    assert run_program(cluster.endpoint, tmp_path).returncode == 0
    assert set(by_task(read(tmp_path / "web.json"))) == {short(web[2]), short(web[3])}
    assert short(migration[0]) not in json.dumps(read(tmp_path / "web.json"))
    assert read(tmp_path / "worker.json") == []  # a service without tasks: an empty list, on purpose


def test_large_services_are_paged_and_described_100_at_a_time(cluster, tmp_path, monkeypatch):
    web = cluster.run(WEB, 205)
    ecs = client("ecs", cluster.endpoint)
    calls: list[tuple[str, dict]] = []
    ecs.meta.events.register("provide-client-params.ecs.*",
                             lambda params, model, **_: calls.append((model.name, dict(params))))
    args = ecs_sd.parse_args(["--cluster", CLUSTER, "--service", f"{WEB}=8080:web.json",
                              "--environment", "production", "--output-dir", str(tmp_path)])

    assert ecs_sd.run_round(ecs, args) is True
    assert set(by_task(read(tmp_path / "web.json"))) == {short(arn) for arn in web}
    listed = [params for name, params in calls if name == "ListTasks"]
    assert listed and all(p["maxResults"] == 100 and p["serviceName"] == WEB and p["desiredStatus"] == "RUNNING"
                          for p in listed)
    described = [len(params["tasks"]) for name, params in calls if name == "DescribeTasks"]
    assert described == [100, 100, 5]


# --- failures -------------------------------------------------------------------------------------


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_aws_outage_keeps_the_previous_file(cluster, tmp_path):
    web = cluster.run(WEB, 9)
    assert run_program(cluster.endpoint, tmp_path).returncode == 0
    before = (tmp_path / "web.json").read_bytes()
    inode = (tmp_path / "web.json").stat().st_ino
    assert len(json.loads(before)) == 9

    # The ECS endpoint unreachable (network), then answering errors (ClusterNotFoundException).
    unreachable = run_program(f"http://127.0.0.1:{_unused_port()}", tmp_path)
    missing_cluster = run_program(cluster.endpoint, tmp_path, cluster_name="no-such-cluster")
    for result in (unreachable, missing_cluster):
        assert result.returncode == 1
        assert "ECS error, keeping the previous" in result.stderr
        assert (tmp_path / "web.json").read_bytes() == before  # never an empty list
        assert (tmp_path / "web.json").stat().st_ino == inode
    assert "ClusterNotFoundException" in missing_cluster.stderr
    assert set(by_task(json.loads(before))) == {short(arn) for arn in web}


def test_an_outage_at_start_writes_nothing(aws, tmp_path):
    result = run_program(f"http://127.0.0.1:{_unused_port()}", tmp_path, timeout=120)
    assert result.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_files_are_replaced_atomically(cluster, tmp_path):
    web = cluster.run(WEB, 2)
    assert run_program(cluster.endpoint, tmp_path).returncode == 0
    path = tmp_path / "web.json"
    with path.open() as reader:  # Prometheus in the middle of reading the old file
        first_inode = os.fstat(reader.fileno()).st_ino
        cluster.run(WEB, 1)
        assert run_program(cluster.endpoint, tmp_path).returncode == 0
        old = json.loads(reader.read())  # still the whole old file: renamed over, not rewritten in place
    assert set(by_task(old)) == {short(arn) for arn in web}
    assert len(read(path)) == 3
    assert path.stat().st_ino != first_inode
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.json", "worker.json"]  # no temporary files left

    # Unchanged tasks: the file is left as it is (no rewrite, no reload in Prometheus).
    inode = path.stat().st_ino
    assert run_program(cluster.endpoint, tmp_path).returncode == 0
    assert path.stat().st_ino == inode


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "web.json"
    path.write_text("[]\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ecs_sd.os, "replace", broken_replace)
    with pytest.raises(OSError):
        ecs_sd.write_atomically(path, '[{"targets": ["10.0.0.1:8080"], "labels": {}}]\n')
    assert path.read_text() == "[]\n"
    assert [p.name for p in tmp_path.iterdir()] == ["web.json"]


def test_the_loop_runs_until_sigterm_and_reports_it_is_alive(cluster, tmp_path):
    cluster.run(WORKER, 2)
    argv = [sys.executable, str(PROGRAM), "--cluster", CLUSTER, "--service", f"{WORKER}=9808:worker.json",
            "--environment", "production", "--output-dir", str(tmp_path), "--interval", "0.2"]
    process = subprocess.Popen(argv, env={**os.environ, "AWS_ENDPOINT_URL": cluster.endpoint},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        heartbeat = tmp_path / ecs_sd.HEARTBEAT_FILE
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not heartbeat.exists():
            time.sleep(0.1)
        assert heartbeat.exists(), process.stderr.read() if process.poll() is not None else "no heartbeat"
        first = heartbeat.stat().st_mtime_ns
        time.sleep(1)
        assert heartbeat.stat().st_mtime_ns > first  # touched every round
        assert len(read(tmp_path / "worker.json")) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


# --- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    [],
    ["--service", "web=8080:web.json", "--environment", "production", "--output-dir", "{dir}"],
    ["--cluster", "c", "--environment", "production", "--output-dir", "{dir}"],
    ["--cluster", "c", "--service", "web:8080", "--environment", "production", "--output-dir", "{dir}"],
    ["--cluster", "c", "--service", "web=0:web.json", "--environment", "production", "--output-dir", "{dir}"],
    ["--cluster", "c", "--service", "web=8080:../web.json", "--environment", "production", "--output-dir", "{dir}"],
    ["--cluster", "c", "--service", "web=8080:web.json", "--service", "worker=9808:web.json",
     "--environment", "production", "--output-dir", "{dir}"],
    ["--cluster", "c", "--service", "web=8080:web.json", "--environment", " ", "--output-dir", "{dir}"],
    ["--cluster", "c", "--service", "web=8080:web.json", "--environment", "production", "--output-dir", "{dir}/nope"],
    ["--cluster", "c", "--service", "web=8080:web.json", "--environment", "production", "--output-dir", "{dir}",
     "--interval", "0"],
], ids=["nothing", "no-cluster", "no-service", "bad-service", "port-0", "path-in-file", "same-file",
        "blank-environment", "missing-dir", "zero-interval"])
def test_bad_arguments_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ecs_sd.parse_args([item.replace("{dir}", str(tmp_path)) for item in argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err


def test_bad_arguments_exit_non_zero_from_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, str(PROGRAM), "--cluster", CLUSTER, "--service", "web",
                             "--environment", "production", "--output-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "SERVICE=PORT:FILE.json" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- Prometheus reads what the program writes ---------------------------------------------------


def test_prometheus_turns_the_files_into_labelled_targets(cluster, tmp_path):
    """Debian's Prometheus with the production prometheus.yml, laid out as in the image, reading the
    files the program wrote: every task is a target of its job with the discovery labels."""
    prometheus = "/usr/bin/prometheus"
    if not Path(prometheus).exists():
        pytest.fail("prometheus is not installed: run `make system-deps` (Debian package `prometheus`)")
    etc = tmp_path / "etc"
    (etc / "sd").mkdir(parents=True)
    (etc / "secrets").mkdir()
    (etc / "secrets" / "activelog-metrics-token").write_text("not-a-real-token")
    (etc / "prometheus.yml").write_text((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    (etc / "rules").symlink_to(ROOT / "infra" / "prometheus" / "rules")
    web = cluster.run(WEB, 10)
    cluster.task(web[3]).health_status = "UNHEALTHY"
    worker = cluster.run(WORKER, 2)
    assert run_program(cluster.endpoint, etc / "sd").returncode == 0

    port = _unused_port()
    process = subprocess.Popen([prometheus, f"--config.file={etc / 'prometheus.yml'}",
                                f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, targets = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as response:
                    targets = json.load(response)["data"]["activeTargets"]
            except OSError:
                targets = []
            if len([t for t in targets if t["labels"]["job"].startswith("activelog-")]) == 12:
                break
            time.sleep(0.5)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    app = {t["labels"]["task"]: t["labels"] for t in targets if t["labels"]["job"].startswith("activelog-")}
    assert set(app) == {short(arn) for arn in web + worker}, stderr[-3000:]
    for arn in web:
        labels = app[short(arn)]
        assert labels["job"] == "activelog-web"
        assert labels["instance"] == f"{cluster.address(arn)}:8080"
        assert set(labels) == LABELS | {"job", "instance"}
    assert app[short(web[3])]["health_status"] == "UNHEALTHY"
    assert {app[short(arn)]["job"] for arn in worker} == {"activelog-worker"}
    static = {t["labels"]["job"]: t["labels"] for t in targets if not t["labels"]["job"].startswith("activelog-")}
    assert set(static) == {"postgres-exporter", "redis-exporter", "prometheus"}
    assert all(labels["environment"] == "production" for labels in static.values())
