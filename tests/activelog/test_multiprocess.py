"""Dead workers' metrics files are folded into one archive per type: totals stay exact and a
scrape after 500 recycled workers costs what it cost after one (bench/recycled_workers.py)."""

import json
import subprocess
import sys

import pytest

from activelog.multiprocess import retire_process
from tests.support.servers import ROOT, clean_env

pytestmark = pytest.mark.slow


def recycle(workers: int, mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "bench/recycled_workers.py", "--workers", str(workers), "--mode", mode],
        cwd=ROOT, env=clean_env(LOG_LEVEL="ERROR"), capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_after_500_recycled_workers_totals_are_exact_and_the_scrape_stays_flat():
    run = recycle(500, "compact")
    assert run["totals"] == {
        "django_http_requests_total_by_view_transport_method_total": 500 * run["views"],
        "django_http_requests_latency_seconds_by_view_method_count": 500 * run["views"],
        "activelog_activities_created_total": 500,
        "activelog_logins_total": 500,
    }
    # The parent's own files plus one archive per type, however many workers came and went.
    assert run["files"] <= 6, run
    # Without compaction this grows ~100x (1,003 files, ~450 ms on a 2-core machine).
    assert run["scrape_ms_after_last"] < 2 * run["scrape_ms_after_first"] + 10, run


def test_without_compaction_the_files_pile_up():
    """The measuring stick works: keeping dead workers' files grows the directory per worker."""
    run = recycle(40, "keep")
    assert run["files"] >= 2 * 40
    assert run["totals"]["activelog_activities_created_total"] == 40


def test_retiring_an_unknown_process_or_a_missing_directory_changes_nothing(tmp_path):
    retire_process(12345, str(tmp_path / "absent"))
    retire_process(12345, None)
    retire_process(12345, str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["compaction.lock"]
