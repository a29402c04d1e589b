"""Point the test process's Celery app at a broker for a while (instead of running tasks inline)."""

import contextlib

from activelog.celery import app as celery_app


def _reset_connections() -> None:
    """Forget pooled broker connections and producers made under another configuration (kombu's
    process-wide pools too: closed but still registered, they fail every later publish)."""
    from kombu import pools

    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()


@contextlib.contextmanager
def broker_at(url: str):
    previous = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    _reset_connections()
    celery_app.conf.update(task_always_eager=False, broker_url=url)
    try:
        yield url
    finally:
        celery_app.conf.update(previous)
        _reset_connections()
