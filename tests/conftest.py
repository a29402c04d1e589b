"""Suite-wide fixtures. The suite runs against the real PostgreSQL and Redis on localhost."""

import os
from urllib.parse import urlparse

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from activelog.s3 import s3_storage
from tests.support.api import bearer_client
from tests.support.factories import UserFactory
from tests.support.servers import moto_s3

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
        "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}


def _unreachable_services() -> list[str]:
    problems = []
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        try:
            psycopg.connect(
                host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
            ).close()
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL at {db['HOST']}:{db['PORT']} is unreachable ({exc}). "
                            f"Start it with: {HOW_TO_START['PostgreSQL']}")
    if settings.REDIS_URL:
        url = urlparse(settings.REDIS_URL)
        try:
            redis.Redis(host=url.hostname, port=url.port or 6379, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis at {url.hostname}:{url.port} is unreachable ({exc}). "
                            f"Start it with: {HOW_TO_START['Redis']}")
    return problems


def pytest_configure(config):
    problems = _unreachable_services()
    if problems:
        pytest.exit("\n".join(["The test suite needs its services:", *problems]), returncode=3)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters and cached values never leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Local media files of a test live and die with the test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3-compatible server on localhost, reached through the real boto3 client."""
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3_media(settings, s3_endpoint, aws_credentials, request):
    """Media on S3 (moto server): a fresh private bucket and the production storage settings.
    Returns a boto3 client for looking at what was stored."""
    import uuid

    import boto3

    bucket = f"activelog-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(bucket=bucket, region="us-east-1", endpoint_url=s3_endpoint),
    }
    client.bucket = bucket
    return client


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def auth_client(user) -> APIClient:
    return bearer_client(user)


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def other_client(other_user) -> APIClient:
    return bearer_client(other_user)


def pytest_report_header(config):
    return [f"database: {settings.DATABASES['default']['ENGINE']} {settings.DATABASES['default'].get('NAME')}",
            f"cache: {settings.CACHES['default']['BACKEND']} {os.environ.get('REDIS_URL', '')}"]


@pytest.fixture
def redis_commands(monkeypatch):
    """Counts the commands sent to Redis (a pipeline or a script call is one round trip)."""
    from redis.connection import AbstractConnection

    sent = []
    send = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


@pytest.fixture
def redis_down(settings):
    """The cache points at a closed port, exactly as when ElastiCache is unreachable."""
    down = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    settings.CACHES = {"default": down}
    yield
    cache.close()
