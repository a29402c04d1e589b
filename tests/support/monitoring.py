"""The monitoring stack for live tests: a throwaway PostgreSQL cluster with pg_stat_statements,
Debian's Prometheus and exporters as real processes, and the dashboards' queries.

    with PostgresCluster(tmp) as pg:                      # initdb + pg_ctl on a free port
        url = pg.url("activelog_monitoring")
    with Prometheus(config, RULES_DIR, tmp) as prom:      # prometheus with a derived config
        prom.query('up')

Binaries are found on the PATH or at Debian's paths; a missing one is a test failure
(``require_binary``), never a skip: a machine without them cannot pass silently.
"""

import contextlib
import copy
import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.servers import ROOT, Program, free_port, wait_for_http

PROMETHEUS_DIR = ROOT / "infra" / "prometheus"
LOCAL_CONFIG = PROMETHEUS_DIR / "prometheus.local.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
POSTGRES_EXPORTER_QUERIES = PROMETHEUS_DIR / "postgres-exporter-queries.yml"
DASHBOARDS_DIR = ROOT / "infra" / "grafana" / "dashboards"
INSTALL_HINT = "run `make system-deps` (Debian packages prometheus, prometheus-postgres-exporter, " \
               "prometheus-redis-exporter, postgresql)"


def require_binary(name: str, *candidates: str) -> str:
    """The path of a program (PATH first, then the given paths); fails the test when missing."""
    found = shutil.which(name) or next((c for c in candidates if Path(c).exists()), None)
    if found is None:
        pytest.fail(f"{name} is not installed: {INSTALL_HINT}")
    return found


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        initdb = shutil.which("initdb")
        if initdb is None:
            pytest.fail(f"PostgreSQL's initdb is not installed: {INSTALL_HINT}")
        return Path(initdb).parent
    return Path(found[-1]).parent


# --- PostgreSQL ----------------------------------------------------------------------------------


class PostgresCluster:
    """A PostgreSQL cluster of its own, on a free localhost port, with pg_stat_statements preloaded
    (the shared server does not preload it, and that needs a restart). Trust authentication, no
    durability (fsync off): it lives for one test. As root, the server runs as the ``postgres``
    user (initdb refuses root)."""

    def __init__(self, parent: Path | None = None):
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.parent = parent
        self._run_as: list[str] = []

    def _cmd(self, program: str, *args: str) -> list[str]:
        return [*self._run_as, str(self.bindir / program), *args]

    def __enter__(self) -> "PostgresCluster":
        self.root = Path(tempfile.mkdtemp(prefix="activelog-pg-", dir=self.parent))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs the postgres user to own the throwaway cluster")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._run_as = [require_binary("runuser", "/usr/sbin/runuser", "/sbin/runuser"), "-u", "postgres", "--"]
        self.data = self.root / "data"
        subprocess.run(self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                 "--no-sync", "--no-instructions"),
                       check=True, capture_output=True, timeout=60)
        options = " ".join([
            f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.root}",
            "-c shared_preload_libraries=pg_stat_statements", "-c pg_stat_statements.track=all",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=60",
        ])
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                                 "-w", "-t", "30", "start"), check=True, capture_output=True, timeout=60)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text(errors="replace")
        return ""

    def __exit__(self, *exc) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


# --- Prometheus ----------------------------------------------------------------------------------


def derive_config(local_config: dict, addresses: dict[str, str], *, interval: str = "1s",
                  overrides: dict[str, dict] | None = None) -> dict:
    """The local Prometheus configuration with every static target replaced by a real address
    (``addresses``: "web:8080" -> "127.0.0.1:40123"), scrape and evaluation every ``interval``.
    Jobs, labels, paths and credentials stay as they are; ``overrides`` may change a job's keys.
    Every target must be mapped: a new target in the file is a failure, not a silent gap."""
    config = copy.deepcopy(local_config)
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
        job.update((overrides or {}).get(job["job_name"], {}))
        for static in job.get("static_configs", []):
            unmapped = [t for t in static["targets"] if t not in addresses]
            assert not unmapped, f"job {job['job_name']}: no address for {unmapped}"
            static["targets"] = [addresses[t] for t in static["targets"]]
    return config


class Prometheus(Program):
    """Debian's prometheus with ``config`` written to a directory of its own, ``rules_dir`` copied
    beside it as rules/ (as deployed), on a free localhost port."""

    def __init__(self, config: dict, rules_dir: Path, workdir: Path, *, port: int | None = None,
                 env: dict | None = None):
        """``port``: where to listen (chosen beforehand when the configuration scrapes Prometheus itself)."""
        self.binary = require_binary("prometheus", "/usr/bin/prometheus")
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.copytree(rules_dir, workdir / "rules", dirs_exist_ok=True)
        command = [self.binary, f"--config.file={self.config_path}", f"--storage.tsdb.path={workdir / 'data'}",
                   f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
                   "--storage.tsdb.retention.time=1d"]
        super().__init__(command, env or dict(os.environ), stop_timeout=10)

    def __enter__(self) -> "Prometheus":
        super().__enter__()
        wait_for_http(self.base + "/-/ready", timeout=30, process=self.process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # /-/ready answers 503 while the TSDB opens
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            time.sleep(0.1)
        raise TimeoutError("prometheus did not become ready")

    def api(self, path: str, **params) -> dict:
        """GET /api/v1/<path>: the JSON answer (``status``, ``data`` or ``error``), also for 4xx."""
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def query(self, expr: str) -> dict:
        """An instant query at the current time: {"status", "data": {"resultType", "result"}, ...}."""
        return self.api("query", query=expr)

    def value(self, expr: str) -> float | None:
        """The single value of a scalar-like query, None without a sample."""
        answer = self.query(expr)
        assert answer["status"] == "success", answer
        result = answer["data"]["result"]
        if answer["data"]["resultType"] == "scalar":
            return float(result[1])
        return float(result[0]["value"][1]) if result else None

    def targets(self) -> list[dict]:
        return self.api("targets", state="active")["data"]["activeTargets"]

    def wait_for_targets_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        targets: list[dict] = []
        while time.monotonic() < deadline:
            targets = self.targets()
            if targets and all(t["health"] == "up" for t in targets):
                return
            time.sleep(0.2)
        down = [(t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"]) for t in targets
                if t["health"] != "up"]
        raise AssertionError(f"targets not up after {timeout} s: {down}")

    def metric_names(self) -> set[str]:
        return set(self.api("label/__name__/values")["data"])


# --- the dashboards --------------------------------------------------------------------------------


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def all_panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def panel_queries() -> list[tuple[str, str, dict]]:
    """(dashboard file, panel title, target) for every query of every dashboard."""
    queries = []
    for path in dashboard_files():
        for panel in all_panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                queries.append((path.name, panel["title"], target))
    return queries


# Grafana's variables and macros, replaced as Grafana would for one environment and all tasks.
def substitute(expr: str, *, environment: str = "local", task: str = ".*", rate_interval: str = "1m",
               interval: str = "15s", range_: str = "5m") -> str:
    replacements = {
        "$__rate_interval": rate_interval, "${__rate_interval}": rate_interval,
        "$__interval": interval, "${__interval}": interval,
        "$__range": range_, "${__range}": range_,
        "${environment}": environment, "$environment": environment,
        "${task}": task, "$task": task,
    }
    # Longest first: $__rate_interval before $__range, ${x} before $x.
    for name in sorted(replacements, key=len, reverse=True):
        expr = expr.replace(name, replacements[name])
    leftover = re.findall(r"\$\{?\w+", expr)
    assert not leftover, f"unknown variable(s) {leftover} in {expr}"
    return expr


@contextlib.contextmanager
def memory_limited_cgroup(limit_bytes: int):
    """A child of this process's own memory cgroup with a memory limit, as every ECS container
    has; yields its cgroup.procs file (processes started with it join the cgroup), or None when
    the cgroup filesystem cannot be written here. Removed afterwards."""
    from activelog.container import CGROUP_ROOT, PROC_SELF_CGROUP, own_cgroups

    paths = own_cgroups(PROC_SELF_CGROUP.read_text())
    name = f"activelog-test-{os.getpid()}"
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        directory, limit_file = CGROUP_ROOT / paths.get("", "/").lstrip("/") / name, "memory.max"
    else:
        directory, limit_file = CGROUP_ROOT / "memory" / paths.get("memory", "/").lstrip("/") / name, \
            "memory.limit_in_bytes"
    try:
        directory.mkdir()
        (directory / limit_file).write_text(str(limit_bytes))
    except OSError:
        with contextlib.suppress(OSError):
            directory.rmdir()
        yield None
        return
    try:
        yield directory / "cgroup.procs"
    finally:
        # The processes have exited; a cgroup with members cannot be removed, so retry briefly.
        for _ in range(50):
            try:
                directory.rmdir()
                break
            except OSError:
                time.sleep(0.1)
