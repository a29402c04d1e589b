"""End to end with a real Celery worker process on the local Redis broker and moto's S3 server:
request a PDF over HTTP -> the worker renders and uploads -> the job completes with progress 100
-> the download link, fetched over HTTP, is a valid PDF holding the user's total."""

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal

import pytest
import redis
from django.db import connection
from pypdf import PdfReader

from tests.support.celery import broker_at
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory, UserFactory, days_ago
from tests.support.servers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
BROKER_URL = "redis://127.0.0.1:6379/7"


def call(method, url, body=None, token=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def broker():
    redis.Redis.from_url(BROKER_URL).flushdb()
    with broker_at(BROKER_URL):
        yield BROKER_URL


@pytest.fixture
def worker(broker, s3_media, settings):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "CELERY_BROKER_URL": broker,
        "AWS_STORAGE_BUCKET_NAME": settings.AWS_STORAGE_BUCKET_NAME,
        "AWS_S3_ENDPOINT_URL": settings.AWS_S3_ENDPOINT_URL,
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "activelog", "worker", "--loglevel", "INFO", "--concurrency", "1",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    output, _ = process.communicate(timeout=30)
    if process.returncode not in (0, -15):
        print(output.decode())


def test_pdf_report_rendered_by_a_real_worker(live_server, worker, s3_media):
    user = UserFactory(timezone="Europe/Paris")
    for day in range(30):
        ActivityFactory(user=user, distance_km=Decimal("12.50"), duration_minutes=61,
                        activity_date=days_ago(day, user.timezone))
    api = f"{live_server.url}/api/v1"
    _, login = call("POST", f"{api}/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    token = login["access"]

    status, job = call("POST", f"{api}/activities/export/pdf", {}, token)
    assert status == 202
    assert job["status"] == "pending"

    deadline, state = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        _, state = call("GET", job["status_url"], token=token)
        if state["status"] in ("completed", "failed"):
            break
        time.sleep(0.3)
    assert state["status"] == "completed", (state, worker.poll())
    assert state["progress"] == 100 and state["record_count"] == 30

    _, download = call("GET", f"{api}/jobs/{job['job_id']}/download", token=token)
    with urllib.request.urlopen(download["download_url"], timeout=10) as response:
        reader = PdfReader(io.BytesIO(response.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 1
    assert "375.00" in text  # 30 x 12.50 km
    assert f"ActiveLog report for {user.username}" in text
