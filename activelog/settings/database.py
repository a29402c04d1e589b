"""PostgreSQL through DATABASE_URL (pooled per process), else SQLite in the project directory."""

from activelog.settings.environment import BASE_DIR, env

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] in {
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
}:
    # django-prometheus's instrumented backend (>= 2.5.0 works with psycopg pools).
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    if env.bool("DATABASE_POOL", default=True):
        # One psycopg pool per process. Size it to the number of request threads: every extra
        # connection is multiplied by processes x tasks against RDS max_connections.
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
    # The app's database user, from the secret that RDS rotation updates (ECS injects its username
    # and password fields at task start), overriding the credentials inside DATABASE_URL.
    if env.str("DATABASE_USER", default=""):
        DATABASES["default"]["USER"] = env.str("DATABASE_USER")
    if env.str("DATABASE_PASSWORD", default=""):
        DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
