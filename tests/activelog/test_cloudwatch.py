"""watchtower ships the JSON log lines to CloudWatch Logs (moto's server stands in for it): one
stream per process, the group made by the infrastructure; an unreachable CloudWatch never
breaks a request or the shutdown."""

import json
import time
import urllib.request

import boto3
import pytest

from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env, closed_port

pytestmark = pytest.mark.slow
GROUP = "/ecs/activelog-test/app"


def get(base, path, request_id):
    request = urllib.request.Request(f"{base}{path}", headers={"Host": "localhost", "X-Forwarded-Proto": "https",
                                                                "X-Request-ID": request_id})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def env_for(endpoint, database_url, tmp_path):
    return clean_env(**{**PRODUCTION_ENV, "LOG_LEVEL": "INFO"}, DATABASE_URL=database_url,
                     REDIS_URL="redis://127.0.0.1:6379/13", CLOUDWATCH_LOG_GROUP=GROUP,
                     CLOUDWATCH_SEND_INTERVAL="1", AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=endpoint,
                     AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                     DJANGO_STATIC_ROOT=str(tmp_path))


def test_records_reach_the_log_group(s3_endpoint, served_database_url, tmp_path):
    logs = boto3.client("logs", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
    with Gunicorn(env_for(s3_endpoint, served_database_url, tmp_path), workers=2) as server:
        assert get(server.base, "/api/v1/activities", "cloudwatch-req-1") == 401
        assert get(server.base, "/api/schema", "cloudwatch-req-2") == 200
    # Stopped: each worker flushed its handler within the graceful shutdown.
    streams = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    names = [s["logStreamName"] for s in streams]
    assert names and all(name.count("/") == 1 and name.rsplit("/", 1)[1].isdigit() for name in names), names
    messages = []
    for name in names:
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=name, startFromHead=True)["events"]
        messages += [json.loads(event["message"]) for event in events]
    ids = {m.get("request_id") for m in messages if m.get("logger") == "activelog.request"}
    assert {"cloudwatch-req-1", "cloudwatch-req-2"} <= ids
    # The app never creates the group itself.
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"]] == [GROUP]


def test_an_unreachable_cloudwatch_breaks_nothing(served_database_url, tmp_path):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    server = Gunicorn(env_for(endpoint, served_database_url, tmp_path), workers=1).start()
    for number in range(5):
        assert get(server.base, "/api/schema", f"offline-{number}") == 200
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 25  # within gunicorn's graceful timeout
