#!/usr/bin/env python3
"""ECS service discovery for Prometheus: every running task of the given services, as file_sd JSON.

Runs as a sidecar of the Prometheus task (infra/terraform/monitoring.tf). Every ``--interval``
seconds, for each ``--service NAME=PORT:FILE``:

1. ``ecs:ListTasks`` (cluster, service, desired status RUNNING), every page (100 ARNs per page);
2. ``ecs:DescribeTasks`` in batches of at most 100 ARNs (the API's limit);
3. keeps the tasks whose ``lastStatus`` is ``RUNNING`` *whatever their health*, so that a task
   that is up but failing its health check is still scraped and shows ``up == 0`` instead of
   silently disappearing (Cloud Map DNS drops unhealthy tasks, and answers at most 8 addresses);
4. writes ``FILE`` in ``--output-dir`` atomically (temporary file in the same directory, fsync,
   rename): Prometheus never reads a half-written file. One target group per task::

       {"targets": ["10.40.10.23:8080"],
        "labels": {"environment": "production", "task": "<task id>", "ecs_service": "web",
                   "ecs_task_revision": "42", "availability_zone": "eu-west-1a",
                   "health_status": "HEALTHY"}}

When AWS answers with an error (throttling, permissions, network), the previous file is kept
untouched (never replaced by an empty list, which would make every target vanish) and the error is
logged to stderr; the next round tries again. ``--once`` runs one round and exits 1 if any service
failed. Bad arguments exit 2.

Only the standard library and boto3. Credentials and region come from the task role and the
environment (``AWS_REGION``), like any boto3 program; ``AWS_ENDPOINT_URL`` points it elsewhere
(tests).

Usage::

    python ecs_sd.py --cluster activelog-prod --service web=8080:web.json \
        --service worker=9808:worker.json --environment production --output-dir /sd --interval 30
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

HEARTBEAT_FILE = ".ecs_sd.alive"  # touched after every round: the container health check reads its age
LIST_PAGE_SIZE = 100  # ListTasks returns at most 100 ARNs per page
DESCRIBE_BATCH_SIZE = 100  # DescribeTasks accepts at most 100 tasks per call

log = logging.getLogger("ecs_sd")


@dataclass(frozen=True)
class ScrapeJob:
    """One ECS service, the port its metrics answer on, and the file_sd file it is written to."""

    service: str
    port: int
    filename: str


_JOB = re.compile(r"^(?P<service>[A-Za-z0-9_-]{1,255})=(?P<port>\d{1,5}):(?P<file>[A-Za-z0-9_.-]+\.json)$")


def parse_job(text: str) -> ScrapeJob:
    match = _JOB.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected SERVICE=PORT:FILE.json, e.g. web=8080:web.json (FILE is a plain file name)"
        )
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: port {port} is not between 1 and 65535")
    return ScrapeJob(match["service"], port, match["file"])


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write Prometheus file_sd JSON for every RUNNING task of ECS services.",
    )
    parser.add_argument("--cluster", required=True, help="ECS cluster name or ARN")
    parser.add_argument("--service", dest="jobs", action="append", type=parse_job, required=True,
                        metavar="SERVICE=PORT:FILE", help="a service to discover (repeatable)")
    parser.add_argument("--environment", required=True, help="value of the environment label")
    parser.add_argument("--output-dir", required=True, type=Path, help="directory of the file_sd files")
    parser.add_argument("--interval", type=positive_number, default=30.0, help="seconds between rounds")
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)")
    parser.add_argument("--once", action="store_true", help="one round, then exit (1 if a service failed)")
    args = parser.parse_args(argv)
    if not args.environment.strip():
        parser.error("--environment must not be empty")
    if not args.output_dir.is_dir():
        parser.error(f"--output-dir {args.output_dir} is not a directory")
    filenames = [job.filename for job in args.jobs]
    if len(set(filenames)) != len(filenames):
        parser.error("each --service needs its own FILE")
    services = [job.service for job in args.jobs]
    if len(set(services)) != len(services):
        parser.error("a service is given twice")
    return args


# --- ECS ------------------------------------------------------------------------------------------


def ecs_client(region: str | None):
    # Retries with backoff on throttling; short timeouts so that one slow call does not hold a round.
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)
    return boto3.client("ecs", region_name=region, config=config)


def _batches(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def running_tasks(ecs, cluster: str, service: str) -> list[dict[str, Any]]:
    """Every task of ``service`` whose lastStatus is RUNNING, healthy or not."""
    arns: list[str] = []
    pages = ecs.get_paginator("list_tasks").paginate(
        cluster=cluster, serviceName=service, desiredStatus="RUNNING",
        PaginationConfig={"PageSize": LIST_PAGE_SIZE},
    )
    for page in pages:
        arns.extend(page.get("taskArns", []))
    tasks: list[dict[str, Any]] = []
    for batch in _batches(arns, DESCRIBE_BATCH_SIZE):
        # A task that stopped between the two calls comes back as a failure (MISSING): skip it.
        tasks.extend(ecs.describe_tasks(cluster=cluster, tasks=list(batch)).get("tasks", []))
    # Tasks a service starts are in the group "service:<name>"; the check keeps a one-off task
    # (a migration, cleanup_exports) out of the service's file even if it were ever listed with it.
    group = f"service:{service}"
    return [task for task in tasks if task.get("lastStatus") == "RUNNING" and task.get("group", group) == group]


def private_ipv4(task: dict[str, Any]) -> str | None:
    """The task's awsvpc address: its ENI attachment, else the first container's interface."""
    for attachment in task.get("attachments", []):
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                return detail["value"]
    for container in task.get("containers", []):
        for interface in container.get("networkInterfaces", []):
            if interface.get("privateIpv4Address"):
                return interface["privateIpv4Address"]
    return None


def target_groups(tasks: Iterable[dict[str, Any]], *, job: ScrapeJob, environment: str) -> list[dict[str, Any]]:
    groups = []
    for task in tasks:
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        address = private_ipv4(task)
        if not address:
            log.warning("%s: task %s has no private IPv4 address yet; skipped", job.service, task_id)
            continue
        groups.append({
            "targets": [f"{address}:{job.port}"],
            "labels": {
                "environment": environment,
                "task": task_id,
                "ecs_service": job.service,
                "ecs_task_revision": task.get("taskDefinitionArn", "").rsplit(":", 1)[-1] or "unknown",
                "availability_zone": task.get("availabilityZone") or "unknown",
                "health_status": task.get("healthStatus") or "UNKNOWN",
            },
        })
    return sorted(groups, key=lambda group: group["labels"]["task"])


# --- Files ----------------------------------------------------------------------------------------


def write_atomically(path: Path, content: str) -> bool:
    """Replace ``path`` with ``content`` (temporary file + fsync + rename); False if it was already that."""
    try:
        if path.read_text() == content:
            return False
    except FileNotFoundError:
        pass
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; Prometheus may run as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def render(groups: list[dict[str, Any]]) -> str:
    return json.dumps(groups, indent=2, sort_keys=True) + "\n"


# --- Rounds ---------------------------------------------------------------------------------------


def run_round(ecs, args: argparse.Namespace) -> bool:
    """One discovery round over every service; False if any service could not be listed."""
    ok = True
    for job in args.jobs:
        path = args.output_dir / job.filename
        try:
            tasks = running_tasks(ecs, args.cluster, job.service)
        except (ClientError, BotoCoreError) as exc:
            ok = False
            log.error("%s: ECS error, keeping the previous %s: %s", job.service, path, exc)
            continue
        groups = target_groups(tasks, job=job, environment=args.environment)
        changed = write_atomically(path, render(groups))
        log.info("%s: %d running task(s)%s", job.service, len(groups), f", wrote {path}" if changed else "")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s ecs_sd: %(message)s")
    args = parse_args(argv)
    ecs = ecs_client(args.region)
    if args.once:
        return 0 if run_round(ecs, args) else 1

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            run_round(ecs, args)
            # Liveness, not success: an AWS outage must not make ECS restart Prometheus.
            (args.output_dir / HEARTBEAT_FILE).touch()
        except OSError as exc:  # the shared volume itself failed: say so, try again next round
            log.error("cannot write the file_sd files: %s", exc)
        stop.wait(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
