"""The S3 media storage options, in one place for the settings and the tests (no Django imports)."""

# Every S3 call has a deadline: connecting and each wait for an answer are bounded, and so is the
# number of attempts. Against a hung S3 a call gives up after at most
# max_attempts * (connect_timeout + read_timeout), plus 1 s per attempt for an upload (botocore
# waits that long for "100 Continue") and botocore's short backoff between attempts: 28 s with
# these defaults, so the request still answers 503 well inside the load balancer's 60 s idle
# timeout. The read timeout bounds a silence, not a transfer: a 10 MB upload that keeps moving is
# not cut short. Presigned links are computed locally and never wait for S3.
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 2


def s3_storage(
    *,
    bucket: str,
    region: str | None,
    endpoint_url: str | None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> dict:
    from botocore.config import Config

    addressing = "path" if endpoint_url else None  # S3-compatible servers (and moto) want path style
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "region_name": region or None,
            "endpoint_url": endpoint_url or None,
            # Credentials come from the environment or the ECS task role; never from settings.
            "default_acl": None,  # the bucket enforces owner-only objects (no ACLs)
            "querystring_auth": True,  # presigned GET links
            "querystring_expire": 3600,
            "file_overwrite": False,
            "signature_version": "s3v4",
            "addressing_style": addressing,
            "object_parameters": {"CacheControl": "private, max-age=3600"},
            # client_config replaces django-storages' own Config, so the signature version and
            # addressing style are repeated here. ``total_max_attempts`` counts the first attempt;
            # botocore's ``max_attempts`` counts retries only (3 meant 4 attempts of 15 s: 60 s).
            "client_config": Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                signature_version="s3v4",
                s3={"addressing_style": addressing} if addressing else None,
            ),
        },
    }
