"""Shared helpers of tests/infra/test_ecs_task_definitions.py and tests/infra/test_deploy.py.

A moto server on localhost stands in for AWS (ECR, ECS, EC2, Secrets Manager); real boto3 talks to
it over HTTP with dummy credentials.
"""

from __future__ import annotations

import itertools
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"

SECRET_NAMES = {
    "django_secret_key_secret_arn": "activelog/django-secret-key",
    "jwt_signing_key_secret_arn": "activelog/jwt-signing-key",
    "database_url_secret_arn": "activelog/database-url",
    "redis_url_secret_arn": "activelog/redis-url",
    "celery_broker_url_secret_arn": "activelog/celery-broker-url",
    "metrics_token_secret_arn": "activelog/metrics-token",
    "app_db_secret_arn": "activelog/app-db-credentials",
}

# Sample values for every ${variable} of infra/ecs/*.tpl.
SAMPLE_VARS: dict[str, Any] = {
    "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/activelog:0123456789abcdef0123456789abcdef01234567",
    "app_name": "activelog",
    "app_version": "0123456789abcdef0123456789abcdef01234567",
    "aws_region": REGION,
    "log_group": "/ecs/activelog",
    "app_log_group": "/activelog/app",
    "allowed_hosts": "activelog.example.com",
    "csrf_trusted_origins": "https://activelog.example.com",
    "media_bucket": "activelog-media-test",
    "otel_sdk_disabled": "true",
    "gunicorn_workers": "2",
    "gunicorn_threads": "4",
    "database_pool_max_size": "4",
    "worker_concurrency": "2",
    "adot_image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1",
    **{
        key: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
        for key, name in SECRET_NAMES.items()
    },
}


def start_moto():
    """A moto server on 127.0.0.1 with a free port; returns (server, endpoint_url)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


_accounts = itertools.count(210000000001)


def fresh_moto_account(monkeypatch) -> str:
    """Give the test an AWS account of its own in moto (state is per account and region).

    Every moto server in this process shares one global state, and other tests run their own
    (S3 for media); a per-test account isolates without resetting anybody else's buckets.
    """
    account = str(next(_accounts))
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
    return account


def set_dummy_credentials(monkeypatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


def client(service: str, endpoint: str):
    import boto3

    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)
