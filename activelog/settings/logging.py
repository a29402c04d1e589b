"""Logging: the configuration itself lives in activelog/logging.py, shared with gunicorn.

CloudWatch shipping (CLOUDWATCH_LOG_GROUP, CLOUDWATCH_SEND_INTERVAL) is no setting: each process
attaches its handler itself once forked (activelog/bootstrap.py).
"""

import logging

from activelog.logging import django_logging_config
from activelog.settings.environment import env

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # "plain" for human-friendly local output
logging.captureWarnings(True)  # Python warnings become log records (JSON), not stray stderr text
LOGGING = django_logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)
