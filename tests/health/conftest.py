import boto3
import pytest

from activelog import runtime
from health import probes


@pytest.fixture(autouse=True)
def _fresh_probe_state():
    probes.reset_cache()
    runtime.reset_placement()
    yield
    probes.reset_cache()
    runtime.reset_placement()


@pytest.fixture
def media_bucket(settings, s3_endpoint, aws_credentials):
    name = "activelog-health-test"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings.AWS_STORAGE_BUCKET_NAME = name
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    return name
