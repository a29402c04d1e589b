"""activelog/bootstrap.py: the metrics directory every process needs, and log shipping from a
one-off management command (whose logging Django configures only once the command starts).

The ECS task commands themselves run in tests/infra/test_ecs_commands.py; gunicorn's and Celery's
tracing and CloudWatch in test_tracing_and_logs.py and test_cloudwatch.py.
"""

import json
import subprocess
import sys

import boto3
import pytest

from activelog import bootstrap
from tests.support.servers import ROOT, clean_env


@pytest.fixture
def fresh_process(monkeypatch):
    """bootstrap's per-process record, as in a process that has not been set up yet."""
    monkeypatch.setattr(bootstrap, "_done", {})


@pytest.fixture
def metrics_dir(tmp_path, monkeypatch):
    directory = tmp_path / "tmp" / "prometheus-multiproc"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    return directory


def test_the_metrics_directory_is_created_when_missing(fresh_process, metrics_dir):
    bootstrap.bootstrap_process("celery")

    assert metrics_dir.is_dir()


def test_each_step_runs_once_per_process(fresh_process, metrics_dir):
    bootstrap.bootstrap_process("celery")
    metrics_dir.rmdir()

    bootstrap.bootstrap_process("celery")

    assert not metrics_dir.exists()


def test_the_gunicorn_master_starts_with_an_empty_directory(fresh_process, metrics_dir):
    metrics_dir.mkdir(parents=True)
    (metrics_dir / "counter_4242.db").write_bytes(b"samples of a previous run")

    bootstrap.bootstrap_process("gunicorn")

    assert metrics_dir.is_dir() and list(metrics_dir.iterdir()) == []


def test_other_processes_keep_what_is_in_the_directory(fresh_process, metrics_dir):
    metrics_dir.mkdir(parents=True)
    (metrics_dir / "counter_4242.db").write_bytes(b"samples of a live worker")

    bootstrap.bootstrap_process("celery")

    assert [path.name for path in metrics_dir.iterdir()] == ["counter_4242.db"]


def test_without_the_variable_nothing_is_created(fresh_process, tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.chdir(tmp_path)

    bootstrap.bootstrap_process("celery")

    assert list(tmp_path.iterdir()) == []


def test_an_unknown_role_is_refused(fresh_process):
    with pytest.raises(ValueError, match="unknown process role 'wbe'"):
        bootstrap.bootstrap_process("wbe")


@pytest.mark.slow
def test_a_management_command_ships_its_records_to_cloudwatch(s3_endpoint, tmp_path):
    """manage.py bootstraps before Django has configured logging: the handler must still be there
    when the command runs."""
    group = "/activelog/test-one-off"
    options = {"endpoint_url": s3_endpoint, "region_name": "us-east-1",
               "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    logs = boto3.client("logs", **options)
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    env = clean_env(DJANGO_SETTINGS_MODULE="activelog.settings", CLOUDWATCH_LOG_GROUP=group,
                    CLOUDWATCH_SEND_INTERVAL="1", AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=s3_endpoint,
                    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                    APP_VERSION="one-off-test-version", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    code = "import logging; logging.getLogger('activelog.test').warning('cleaned up %d exports', 3)"

    result = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    records = [json.loads(event["message"]) for stream in streams for event in
               logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                   startFromHead=True)["events"]]
    shipped = [r for r in records if r["version"] == "one-off-test-version"]
    assert [(r["logger"], r["message"]) for r in shipped] == [("activelog.test", "cleaned up 3 exports")]
    assert (tmp_path / "metrics").is_dir()
