#!/usr/bin/env python
"""Export benchmarks.

    .venv/bin/python bench/exports.py csv   # memory of the serving process while streaming 100,000 rows
    .venv/bin/python bench/exports.py pdf   # time to render and store a one-year report of 1,000 activities

csv: seeds (once) `demo` with 100,000 activities in BENCH_DATABASE_URL (as bench/stats.py does),
starts gunicorn with one worker and the production settings, downloads the CSV export over
HTTP and reports the worker's resident memory before, its peak (VmHWM) after, and the growth.

pdf: seeds (once) `demo` with 1,000 activities over a year in BENCH_PDF_DATABASE_URL, then
runs the report job in-process (render + store on the local disk) and reports the median of 3
runs, the page count and the file size. The last PDF is kept at /tmp/activelog-report.pdf.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env, migrated_database  # noqa: E402

PASSWORD = "bench-password-2026"


def seed(database_url: str, activities: int, days: int) -> None:
    env = clean_env(DATABASE_URL=database_url, DJANGO_DEBUG="false")
    migrated_database(database_url)
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--activities", str(activities), "--days", str(days),
                    "--password", PASSWORD, "--no-progress"], cwd=ROOT, env=env, check=True)


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def bench_csv() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/activelog_bench")
    seed(url, 100_000, 1825)
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=url, DJANGO_SECURE_SSL_REDIRECT="false",
                    THROTTLE_RATE_LOGIN="1000/min")
    with Gunicorn(env, workers=1) as server:
        workers = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True)
        worker = int(workers.stdout.split()[0])
        login = urllib.request.Request(f"{server.base}/api/v1/auth/login", method="POST",
                                       data=json.dumps({"username": "demo", "password": PASSWORD}).encode(),
                                       headers={"Content-Type": "application/json", "Host": "localhost"})
        token = json.loads(urllib.request.urlopen(login, timeout=10).read())["access"]
        before = memory_kb(worker)
        request = urllib.request.Request(f"{server.base}/api/v1/activities/export/csv",
                                         headers={"Authorization": f"Bearer {token}", "Host": "localhost"})
        started, size, lines = time.perf_counter(), 0, 0
        with urllib.request.urlopen(request, timeout=300) as response:
            while chunk := response.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        after = memory_kb(worker)
    print(f"rows: {lines - 1:,}  bytes: {size:,}  seconds: {elapsed:.1f}")
    print(f"worker RSS before: {before['VmRSS'] / 1024:.1f} MiB, peak before: {before['VmHWM'] / 1024:.1f} MiB, "
          f"peak after: {after['VmHWM'] / 1024:.1f} MiB")
    print(f"peak growth while streaming: {(after['VmHWM'] - before['VmRSS']) / 1024:.1f} MiB")


def bench_pdf() -> None:
    url = os.environ.get("BENCH_PDF_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/activelog_bench_pdf")
    seed(url, 1000, 365)
    os.environ.update(clean_env(DATABASE_URL=url, DJANGO_DEBUG="false",
                                DJANGO_MEDIA_ROOT="/tmp/activelog-bench-media"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "activelog.settings"
    import django

    django.setup()
    import datetime as dt

    from django.core.files.storage import default_storage
    from pypdf import PdfReader

    from accounts.models import User
    from activelog.timezones import local_today
    from activities.exports.services import export_job_run
    from activities.models import ExportJob

    user = User.objects.get(username="demo")
    end = local_today(user.tzinfo)
    start = end - dt.timedelta(days=364)
    timings = []
    for _ in range(3):
        job = ExportJob.objects.create(user=user, start_date=start, end_date=end)
        started = time.perf_counter()
        job = export_job_run(job_id=str(job.pk))
        timings.append(time.perf_counter() - started)
        assert job.status == ExportJob.Status.COMPLETED, job.error_message
    with default_storage.open(job.file.name, "rb") as stored:
        data = stored.read()
    Path("/tmp/activelog-report.pdf").write_bytes(data)
    pages = len(PdfReader("/tmp/activelog-report.pdf").pages)
    print(f"activities: {job.record_count}, pages: {pages}, size: {len(data):,} bytes")
    runs = ", ".join(f"{t:.2f}" for t in timings)
    print(f"render + store, 3 runs: {runs} s; median {statistics.median(timings):.2f} s")


if __name__ == "__main__":
    {"csv": bench_csv, "pdf": bench_pdf}[sys.argv[1] if len(sys.argv) > 1 else "csv"]()
