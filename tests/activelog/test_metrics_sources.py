"""Families computed at scrape time: the container's resources from the kernel's files, and the
report queue from the database."""

import datetime as dt

import pytest
from django.utils import timezone

from activelog import container
from activities.exports.monitoring import export_queue_families
from activities.models import ExportJob
from tests.support.factories import ExportJobFactory


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_cpu_working_set_and_limit(tmp_path):
    write(tmp_path / "cgroup.controllers", "cpu memory\n")
    write(tmp_path / "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    write(tmp_path / "memory.current", "300000000\n")
    write(tmp_path / "memory.stat", "anon 200000000\ninactive_file 50000000\nactive_file 10\n")
    write(tmp_path / "memory.max", "536870912\n")
    usage = container.read_cgroup(tmp_path)
    assert (usage.cpu_seconds, usage.memory_bytes, usage.memory_limit_bytes) == (2.5, 250000000, 536870912)
    write(tmp_path / "memory.max", "max\n")
    assert container.read_cgroup(tmp_path).memory_limit_bytes is None


def test_cgroup_v1_with_no_limit(tmp_path):
    write(tmp_path / "cpuacct" / "cpuacct.usage", "1500000000\n")
    write(tmp_path / "memory" / "memory.usage_in_bytes", "100000000\n")
    write(tmp_path / "memory" / "memory.stat", "cache 5\ntotal_inactive_file 40000000\n")
    write(tmp_path / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    usage = container.read_cgroup(tmp_path)
    assert (usage.cpu_seconds, usage.memory_bytes, usage.memory_limit_bytes) == (1.5, 60000000, None)


def test_missing_files_leave_the_figures_out_instead_of_reporting_zero(tmp_path):
    usage = container.read_cgroup(tmp_path)
    assert (usage.cpu_seconds, usage.memory_bytes, usage.memory_limit_bytes) == (None, None, None)
    assert container.read_network(tmp_path / "dev") == {}


def test_network_bytes_per_interface_without_the_loopback(tmp_path):
    write(tmp_path / "dev", (
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls\n"
        "    lo:  715409    4247    0    0    0     0          0         0   715409    4247    0    0    0     0\n"
        "  eth1: 456144263   12559    0    0    0     0          0         0   729075    6462    0    0    0     0\n"
    ))
    assert container.read_network(tmp_path / "dev") == {"eth1": (456144263.0, 729075.0)}


def test_this_machine_reports_its_own_usage():
    usage = container.read_usage()
    assert usage.cpu_seconds > 0 and usage.memory_bytes > 0
    assert usage.network, "no network interface besides the loopback"


@pytest.mark.django_db
def test_the_report_queue_counts_waiting_and_running_jobs_and_the_oldest_wait():
    def families():
        return {(sample.name, tuple(sample.labels.items())): sample.value
                for family in export_queue_families() for sample in family.samples}

    assert families() == {("activelog_export_jobs", (("status", "pending"),)): 0,
                          ("activelog_export_jobs", (("status", "processing"),)): 0,
                          ("activelog_export_oldest_pending_age_seconds", ()): 0}
    old = ExportJobFactory(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 31))
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    ExportJobFactory(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 31))
    ExportJobFactory(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 31), status=ExportJob.Status.PROCESSING)
    ExportJobFactory(start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 31), completed=True)
    seen = families()
    assert seen[("activelog_export_jobs", (("status", "pending"),))] == 2
    assert seen[("activelog_export_jobs", (("status", "processing"),))] == 1
    assert 600 <= seen[("activelog_export_oldest_pending_age_seconds", ())] < 660


def test_the_process_own_cgroup_is_read_when_it_is_visible(tmp_path):
    write(tmp_path / "self", "4:memory:/tasks/abc\n2:cpuacct:/\n0::/\n")
    write(tmp_path / "memory" / "memory.usage_in_bytes", "999\n")  # the host's, not ours
    write(tmp_path / "memory" / "tasks" / "abc" / "memory.usage_in_bytes", "100000000\n")
    write(tmp_path / "memory" / "tasks" / "abc" / "memory.limit_in_bytes", "536870912\n")
    write(tmp_path / "cpuacct" / "cpuacct.usage", "2000000000\n")
    usage = container.read_cgroup(tmp_path, tmp_path / "self")
    assert (usage.cpu_seconds, usage.memory_bytes, usage.memory_limit_bytes) == (2.0, 100000000, 536870912)
    # A runtime that mounts the container's own cgroup at the root, while /proc/self/cgroup still
    # names the host path: the mount is read.
    write(tmp_path / "self", "4:memory:/ecs/task/container\n")
    assert container.read_cgroup(tmp_path, tmp_path / "self").memory_bytes == 999
