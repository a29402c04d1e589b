"""The S3 media storage options, in one place for the settings and the tests (no Django imports)."""


def s3_storage(*, bucket: str, region: str | None, endpoint_url: str | None) -> dict:
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
            # botocore's defaults (60 s timeouts, several attempts) would hold a request thread for
            # minutes on a hung S3 before answering 503. client_config replaces django-storages' own
            # Config, so the signature version and addressing style are repeated here.
            "client_config": Config(
                connect_timeout=3,
                read_timeout=15,
                retries={"mode": "standard", "max_attempts": 3},
                signature_version="s3v4",
                s3={"addressing_style": addressing} if addressing else None,
            ),
        },
    }
