"""The container's CPU, memory and network, read from the kernel at scrape time.

Fargate exposes no node exporter and prometheus_client's multiprocess mode drops the
``process_*`` families, so the task reports itself: CPU time and memory from the container's
cgroup (v2 when /sys/fs/cgroup is the unified hierarchy, v1 otherwise; Fargate platform 1.4 gives
each container its own), network bytes from /proc/net/dev (an awsvpc task has its own network
namespace, so these are the task's interfaces; the loopback is left out). Whatever a file does
not say stays None and its family is left out, never reported as 0.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path(os.environ.get("ACTIVELOG_CGROUP_ROOT", "/sys/fs/cgroup"))
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


def read_cgroup(root: Path = CGROUP_ROOT) -> Usage:
    if (root / "cgroup.controllers").exists():  # v2, unified hierarchy
        usec = _stat_field(_read(root / "cpu.stat"), "usage_usec")
        memory_max = _read(root / "memory.max")
        return Usage(
            cpu_seconds=usec / 1e6 if usec is not None else None,
            memory_bytes=_working_set(_number(_read(root / "memory.current")), _read(root / "memory.stat"),
                                      "inactive_file"),
            memory_limit_bytes=None if (memory_max or "").strip() == "max" else _limit(_number(memory_max)),
        )
    nanoseconds = _number(_read(root / "cpuacct" / "cpuacct.usage"))
    return Usage(
        cpu_seconds=nanoseconds / 1e9 if nanoseconds is not None else None,
        memory_bytes=_working_set(_number(_read(root / "memory" / "memory.usage_in_bytes")),
                                  _read(root / "memory" / "memory.stat"), "total_inactive_file"),
        memory_limit_bytes=_limit(_number(_read(root / "memory" / "memory.limit_in_bytes"))),
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
