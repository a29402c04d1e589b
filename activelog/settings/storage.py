"""Static files (WhiteNoise) and media: a private S3 bucket through AWS_STORAGE_BUCKET_NAME, else
the local disk."""

from django.core.exceptions import ImproperlyConfigured

from activelog.s3 import DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_ATTEMPTS, DEFAULT_READ_TIMEOUT, s3_storage
from activelog.settings.environment import BASE_DIR, PRODUCTION, env

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=env.str("AWS_REGION", default=""))
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")
# Deadlines of every media S3 call (activelog/s3.py): seconds to connect, seconds of silence
# while waiting for an answer, and attempts in all (the first included).
AWS_S3_CONNECT_TIMEOUT = env.float("AWS_S3_CONNECT_TIMEOUT", default=DEFAULT_CONNECT_TIMEOUT)
AWS_S3_READ_TIMEOUT = env.float("AWS_S3_READ_TIMEOUT", default=DEFAULT_READ_TIMEOUT)
AWS_S3_MAX_ATTEMPTS = env.int("AWS_S3_MAX_ATTEMPTS", default=DEFAULT_MAX_ATTEMPTS)
if min(AWS_S3_CONNECT_TIMEOUT, AWS_S3_READ_TIMEOUT) <= 0 or AWS_S3_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured(
        "AWS_S3_CONNECT_TIMEOUT and AWS_S3_READ_TIMEOUT must be positive and AWS_S3_MAX_ATTEMPTS at least 1"
    )

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
# The most memory (estimated) one photo decode may take; decodes take turns across the machine's
# processes (activities/photos/images.py). 192 MiB fits the 512 MiB web task beside the master and
# two workers; raise it with the task's memory to accept larger WebP and PNG images.
PHOTO_DECODE_MEMORY_MB = env.int("PHOTO_DECODE_MEMORY_MB", default=192)
if PHOTO_DECODE_MEMORY_MB < 16:
    raise ImproperlyConfigured("PHOTO_DECODE_MEMORY_MB must be at least 16")
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    # Media: private S3 objects with presigned links when AWS_STORAGE_BUCKET_NAME is set (below),
    # otherwise the local disk with links that still expire (activelog/storage.py).
    "default": {"BACKEND": "activelog.storage.SignedFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = s3_storage(
        bucket=AWS_STORAGE_BUCKET_NAME,
        region=AWS_S3_REGION_NAME,
        endpoint_url=AWS_S3_ENDPOINT_URL,
        connect_timeout=AWS_S3_CONNECT_TIMEOUT,
        read_timeout=AWS_S3_READ_TIMEOUT,
        max_attempts=AWS_S3_MAX_ATTEMPTS,
    )

# Outside production there is no collectstatic step: serve from the app directories directly.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
