# syntax=docker/dockerfile:1
# ActiveLog image: gunicorn serves the web app; the same image runs the Celery worker and
# one-off tasks (migrations). Build: docker build --build-arg APP_VERSION=$(git rev-parse HEAD) .

# --- build: dependencies into a virtualenv, static files collected -------------------------
FROM python:3.12-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-compile -r requirements.txt

COPY . .
# collectstatic needs the production profile's storage (WhiteNoise compressed manifest) but no
# real secrets or database: throw-away values that exist only for this command.
RUN DJANGO_ENV=production DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    JWT_SIGNING_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput --verbosity 0

# --- runtime: the virtualenv and the app, no build tooling, non-root ------------------------
FROM python:3.12-slim AS runtime

ARG APP_VERSION=unknown
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_ENV=production \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    PORT=8080 \
    APP_VERSION=$APP_VERSION

RUN groupadd --system --gid 10001 activelog \
    && useradd --system --uid 10001 --gid activelog --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin activelog

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app

USER 10001:10001
EXPOSE 8080

# Slim images have no curl or wget: the check is a Python one-liner against the liveness path.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=3)"]

# Exec form: gunicorn is PID 1 and receives SIGTERM from ECS directly.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "activelog.wsgi"]
