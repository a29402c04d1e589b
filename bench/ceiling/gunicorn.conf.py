"""gunicorn for the ceiling project: the shipped gunicorn.conf.py's server values (and their
GUNICORN_* environment overrides), without its hooks (they bootstrap ActiveLog's logging,
tracing and metrics, which the ceiling has none of)."""

import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.ceiling.settings"
_shipped = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

worker_class = _shipped["worker_class"]
workers = _shipped["workers"]
threads = _shipped["threads"]
timeout = _shipped["timeout"]
graceful_timeout = _shipped["graceful_timeout"]
keepalive = _shipped["keepalive"]
max_requests = _shipped["max_requests"]
max_requests_jitter = _shipped["max_requests_jitter"]
preload_app = _shipped["preload_app"]
worker_tmp_dir = _shipped["worker_tmp_dir"]
bind = f"127.0.0.1:{os.environ.get('PORT', '8090')}"
accesslog = None
loglevel = "info"
control_socket_disable = _shipped.get("control_socket_disable", True)
