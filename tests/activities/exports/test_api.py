"""CSV export and PDF report jobs (API.md §6) on local storage and on S3 (moto server)."""

import csv
import datetime as dt
import io
import urllib.request
import uuid
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from activities.exports import rendering as reports
from activities.models import ExportJob
from tests.support.api import bearer_client
from tests.support.factories import ActivityFactory, ExportJobFactory, UserFactory, days_ago

CSV_URL = "/api/v1/activities/export/csv"
PDF_URL = "/api/v1/activities/export/pdf"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


# --- CSV --------------------------------------------------------------------------------------


def test_csv_has_the_documented_columns_and_the_users_live_rows(auth_client, user, other_user):
    a = ActivityFactory(user=user, title="Morning Run", distance_km=Decimal("5.20"), tags=["b", "a"],
                        activity_date=dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC))
    b = ActivityFactory(user=user, activity_type="yoga", distance_km=None, calories_burned=None,
                        activity_date=dt.datetime(2026, 3, 2, 7, tzinfo=dt.UTC))
    ActivityFactory(user=user, deleted_at=timezone.now())
    ActivityFactory(user=other_user, title="not mine")
    response = auth_client.get(CSV_URL)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localtime(timezone.now(), user.tzinfo).date()
    assert response["Content-Disposition"] == f'attachment; filename="activelog-activities-{today:%Y%m%d}.csv"'
    rows = read_csv(response)
    assert rows[0] == ["id", "activity_type", "title", "description", "duration_minutes", "distance_km",
                       "calories_burned", "notes", "activity_date", "tags", "created_at"]
    assert [r[0] for r in rows[1:]] == [str(a.pk), str(b.pk)]
    assert rows[1][2] == "Morning Run" and rows[1][5] == "5.20" and rows[1][8] == "2026-03-01T07:00:00Z"
    assert rows[1][9] == "a;b"
    assert rows[2][5] == "" and rows[2][6] == ""


def test_csv_neutralises_formula_cells(auth_client, user):
    ActivityFactory(user=user, title="=HYPERLINK(\"http://evil\")", notes="+1+2", description="-3",
                    tags=["@cmd"])
    row = read_csv(auth_client.get(CSV_URL))[1]
    assert row[2] == "'=HYPERLINK(\"http://evil\")"
    assert row[7] == "'+1+2" and row[3] == "'-3" and row[9] == "'@cmd"


def test_csv_applies_the_list_filters(auth_client, user):
    keep = ActivityFactory(user=user, activity_type="running", tags=["race"],
                           activity_date=dt.datetime(2026, 2, 10, tzinfo=dt.UTC))
    others = [("cycling", "race", dt.date(2026, 2, 11)), ("running", "easy", dt.date(2026, 2, 12)),
              ("running", "race", dt.date(2026, 1, 1))]
    for activity_type, tag, day in others:
        moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        ActivityFactory(user=user, activity_type=activity_type, tags=[tag], activity_date=moment)
    rows = read_csv(auth_client.get(CSV_URL, {"start_date": "2026-02-01", "end_date": "2026-02-28",
                                              "activity_type": "running", "tag": "race"}))
    assert [r[0] for r in rows[1:]] == [str(keep.pk)]


def test_csv_bad_filter_is_a_problem(auth_client):
    response = auth_client.get(CSV_URL, {"start_date": "tomorrow"})
    assert response.status_code == 400
    assert "start_date" in response.json()["errors"]


def test_csv_streams_in_chunks_with_constant_queries(auth_client, user, django_assert_max_num_queries):
    from activities.models import Activity

    Activity.objects.bulk_create([ActivityFactory.build(user=user) for _ in range(reports.CHUNK * 2 + 5)])
    with django_assert_max_num_queries(10):  # auth, then per chunk: rows + tags
        rows = read_csv(auth_client.get(CSV_URL))
    assert len(rows) == reports.CHUNK * 2 + 6


# --- PDF jobs (inline: no broker configured) --------------------------------------------------


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def request_report(client, **period):
    response = client.post(PDF_URL, period, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == {"job_id", "status", "status_url"}
    assert body["status_url"].endswith(f"/api/v1/jobs/{body['job_id']}/status")
    return body


def test_pdf_report_on_local_storage(auth_client, user, client):
    for day in range(60):
        ActivityFactory(user=user, distance_km=Decimal("7.25"), duration_minutes=40,
                        activity_date=days_ago(day), tags=["t"])
    body = request_report(auth_client, start_date=str(timezone.now().date() - dt.timedelta(days=59)))
    status = auth_client.get(body["status_url"]).json()
    assert status["status"] == "completed" and status["progress"] == 100
    assert status["record_count"] == 60 and status["format"] == "pdf"
    assert status["file_size"] > 1000 and status["error_message"] == ""
    download = auth_client.get(f"/api/v1/jobs/{body['job_id']}/download").json()
    assert download["download_url"].split("?")[0] == status["download_url"].split("?")[0]
    fetched = client.get(download["download_url"].replace("http://testserver", ""))
    assert fetched.status_code == 200
    pages, text = pdf_text(b"".join(fetched.streaming_content))
    assert pages >= 2
    assert "435.00" in text  # 60 x 7.25 km, the period's total distance
    assert "Distance per week" in text


def test_pdf_report_on_s3(s3_media, auth_client, user):
    ActivityFactory(user=user, distance_km=Decimal("10.00"), activity_date=timezone.now() - dt.timedelta(days=1))
    body = request_report(auth_client)
    download = auth_client.get(f"/api/v1/jobs/{body['job_id']}/download").json()
    assert "X-Amz-Signature" in download["download_url"] and "X-Amz-Expires=900" in download["download_url"]
    with urllib.request.urlopen(download["download_url"], timeout=10) as response:
        pages, text = pdf_text(response.read())
    assert pages >= 1 and "10.00" in text
    keys = [o["Key"] for o in s3_media.list_objects_v2(Bucket=s3_media.bucket)["Contents"]]
    assert keys == [f"exports/{user.pk}/{body['job_id']}/" + keys[0].rsplit("/", 1)[1]]


def test_jobs_of_another_user_are_404(auth_client, other_client):
    job_id = request_report(auth_client)["job_id"]
    assert other_client.get(f"/api/v1/jobs/{job_id}/status").status_code == 404
    assert other_client.get(f"/api/v1/jobs/{job_id}/download").status_code == 404
    assert other_client.get("/api/v1/jobs").json()["count"] == 0
    assert auth_client.get(f"/api/v1/jobs/{uuid.uuid4()}/status").status_code == 404


def test_download_before_completion_is_409(auth_client, user):
    job = ExportJobFactory(user=user)
    response = auth_client.get(f"/api/v1/jobs/{job.pk}/download")
    assert response.status_code == 409
    assert response.json()["type"] == "https://activelog.dev/problems/conflict"
    assert auth_client.get(f"/api/v1/jobs/{job.pk}/status").json()["download_url"] is None


def test_job_list_newest_first_and_paginated(auth_client, user):
    ids = [request_report(auth_client)["job_id"] for _ in range(3)]
    body = auth_client.get("/api/v1/jobs", {"limit": 2}).json()
    assert body["count"] == 3
    assert [j["job_id"] for j in body["results"]] == list(reversed(ids))[:2]


@pytest.mark.parametrize("payload", [
    {"start_date": "2026-02-30"},
    {"start_date": "2026-03-10", "end_date": "2026-03-01"},
    {"start_date": "2000-01-01", "end_date": "2026-01-01"},
])
def test_bad_periods_are_400(auth_client, payload):
    response = auth_client.post(PDF_URL, payload, format="json")
    assert response.status_code == 400
    assert ExportJob.objects.count() == 0


def test_a_broken_render_fails_the_job_and_leaves_no_object(s3_media, auth_client, user, monkeypatch):
    ActivityFactory(user=user)

    def broken_chart(*args, **kwargs):
        raise ValueError("chart exploded")

    monkeypatch.setattr(reports, "_chart", broken_chart)
    body = request_report(auth_client)
    status = auth_client.get(body["status_url"]).json()
    assert status["status"] == "failed"
    assert "could not be rendered" in status["error_message"]
    assert "exploded" not in status["error_message"]
    assert s3_media.list_objects_v2(Bucket=s3_media.bucket).get("KeyCount") == 0
    assert auth_client.get(f"/api/v1/jobs/{body['job_id']}/download").status_code == 409


def test_storage_outage_fails_the_job_after_retries(s3_media, settings, auth_client, user):
    from tests.support.servers import closed_port

    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": {
        **options, "endpoint_url": f"http://127.0.0.1:{closed_port()}"}}}
    body = request_report(auth_client)
    status = auth_client.get(body["status_url"]).json()
    assert status["status"] == "failed"
    assert status["error_message"] == "The report could not be stored. Try again later."


def test_cleanup_removes_expired_jobs_and_files(auth_client, user):
    from django.core.management import call_command

    fresh = request_report(auth_client)["job_id"]
    old = ExportJob.objects.get(pk=request_report(auth_client)["job_id"])
    name = old.file.name
    assert default_storage.exists(name)
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    out = io.StringIO()
    call_command("cleanup_exports", stdout=out)
    assert "Deleted 1 expired export jobs and 1 stored files." in out.getvalue()
    assert not default_storage.exists(name)
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [uuid.UUID(fresh)]


def test_account_deletion_removes_export_files(s3_media, db, django_capture_on_commit_callbacks):
    user = UserFactory()
    client = bearer_client(user)
    request_report(client)
    assert s3_media.list_objects_v2(Bucket=s3_media.bucket)["KeyCount"] == 1
    from tests.support.factories import DEFAULT_PASSWORD

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/v1/users/me", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204
    assert s3_media.list_objects_v2(Bucket=s3_media.bucket)["KeyCount"] == 0


@pytest.mark.parametrize("body", ["[null, null]", '"x"', "3"])
def test_a_pdf_request_that_is_not_an_object_is_a_400(auth_client, body):
    response = auth_client.post(PDF_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert not ExportJob.objects.exists()
