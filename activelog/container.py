"""The container's CPU, memory and network, read from the kernel at scrape time.

Fargate exposes no node exporter and prometheus_client's multiprocess mode drops the
``process_*`` families, so the task reports itself: CPU time and memory from the container's
cgroup (v2 when /sys/fs/cgroup is the unified hierarchy, v1 otherwise; the process's own cgroup
from /proc/self/cgroup when it is visible, else the mount, which a container runtime makes the
container's own), network bytes from /proc/net/dev (an awsvpc task has its own network
namespace, so these are the task's interfaces; the loopback is left out). Whatever a file does
not say stays None and its family is left out, never reported as 0.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path(os.environ.get("ACTIVELOG_CGROUP_ROOT", "/sys/fs/cgroup"))
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
NET_DEV = Path(os.environ.get("ACTIVELOG_NET_DEV", "/proc/net/dev"))
UNLIMITED = 1 << 60  # cgroup v1 writes a page-rounded 2**63-1 for "no limit"


@dataclass
class Usage:
    cpu_seconds: float | None = None
    memory_bytes: float | None = None
    memory_limit_bytes: float | None = None
    network: dict[str, tuple[float, float]] = field(default_factory=dict)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _stat_field(text: str | None, name: str) -> float | None:
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return float(value)
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text.strip()) if text is not None else None
    except ValueError:
        return None


def _limit(value: float | None) -> float | None:
    return value if value is not None and value < UNLIMITED else None


def _working_set(usage: float | None, stat: str | None, inactive_file: str) -> float | None:
    """What the kernel cannot simply drop: usage less the inactive page cache (the figure the
    OOM killer and `docker stats` go by)."""
    if usage is None:
        return None
    return max(0.0, usage - (_stat_field(stat, inactive_file) or 0.0))


def own_cgroups(text: str | None) -> dict[str, str]:
    """controller -> this process's cgroup path, from /proc/self/cgroup ("" is the v2 hierarchy)."""
    paths = {}
    for line in (text or "").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def _directory(mount: Path, path: str | None) -> Path:
    """The process's own cgroup directory when it is visible under the mount, else the mount: a
    container runtime mounts the container's own cgroup there, while /proc/self/cgroup may still
    name its path on the host."""
    if path and path != "/":
        own = mount / path.lstrip("/")
        if own.is_dir():
            return own
    return mount


def read_cgroup(root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> Usage:
    paths = own_cgroups(_read(proc_self_cgroup))
    if (root / "cgroup.controllers").exists():  # v2, unified hierarchy
        where = _directory(root, paths.get(""))
        usec = _stat_field(_read(where / "cpu.stat"), "usage_usec")
        memory_max = _read(where / "memory.max")
        return Usage(
            cpu_seconds=usec / 1e6 if usec is not None else None,
            memory_bytes=_working_set(_number(_read(where / "memory.current")), _read(where / "memory.stat"),
                                      "inactive_file"),
            memory_limit_bytes=None if (memory_max or "").strip() == "max" else _limit(_number(memory_max)),
        )
    cpu = _directory(root / "cpuacct", paths.get("cpuacct"))
    memory = _directory(root / "memory", paths.get("memory"))
    nanoseconds = _number(_read(cpu / "cpuacct.usage"))
    return Usage(
        cpu_seconds=nanoseconds / 1e9 if nanoseconds is not None else None,
        memory_bytes=_working_set(_number(_read(memory / "memory.usage_in_bytes")), _read(memory / "memory.stat"),
                                  "total_inactive_file"),
        memory_limit_bytes=_limit(_number(_read(memory / "memory.limit_in_bytes"))),
    )


def read_network(path: Path = NET_DEV) -> dict[str, tuple[float, float]]:
    """interface -> (bytes received, bytes sent), loopback left out."""
    interfaces = {}
    for line in (_read(path) or "").splitlines()[2:]:
        name, _, counters = line.partition(":")
        fields = counters.split()
        name = name.strip()
        if name and name != "lo" and len(fields) >= 9:
            interfaces[name] = (float(fields[0]), float(fields[8]))
    return interfaces


def read_usage() -> Usage:
    usage = read_cgroup()
    usage.network = read_network()
    return usage
