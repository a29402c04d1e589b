"""Settings for the test suite: the real PostgreSQL and Redis on localhost unless overridden.

The defaults must be in the environment before activelog.settings is first imported, which is
why this module lives outside that package (importing a submodule would import the package,
and so evaluate the settings, first).
"""

import os

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/activelog")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CACHE_KEY_PREFIX", "activelog-test")

from activelog.settings import *  # noqa: F403

# Hashing cost is not what the suite tests; the fast hasher keeps it quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
