"""The S3 media storage options, in one place for the settings and the tests (no Django imports)."""


def s3_storage(*, bucket: str, region: str | None, endpoint_url: str | None) -> dict:
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
            # S3-compatible servers (and moto) want path-style addressing.
            "addressing_style": "path" if endpoint_url else None,
            "object_parameters": {"CacheControl": "private, max-age=3600"},
        },
    }
