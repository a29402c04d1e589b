"""Cache and sessions: Redis through REDIS_URL, else local memory."""

from activelog.settings.environment import env

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",  # django-redis + metrics
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="activelog"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A hung Redis must never hang a request: fail fast and fall back.
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                # Cache failures degrade to "miss" instead of a 500 (throttles then fail open).
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "activelog.cache"  # rate-limited by activelog.logging.CacheOutageFilter
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache",
            "LOCATION": "activelog",
        }
    }

# Statistics answers, the list's total and single activities are cached per user under a versioned
# key (activities/statistics/cache.py, activities.selectors); this only bounds how long unused
# entries occupy memory.
STATS_CACHE_SECONDS = env.int("STATS_CACHE_SECONDS", default=3600)

# The user behind each API token or browser session, cached by id (accounts/user_cache.py): saves
# the user SELECT on every authenticated request. Every save, delete and bulk update of users drops
# the entry at once and again at commit, so a password change or a deactivation applies to the
# next request; the lifetime only bounds a rare race (a request that read the row just before such
# a commit and stores it just after). Only with Redis, which every process shares: a local-memory
# cache is per process and could not be invalidated in the others. 0 turns it off.
AUTH_USER_CACHE_SECONDS = env.int("AUTH_USER_CACHE_SECONDS", default=60 if REDIS_URL else 0)
