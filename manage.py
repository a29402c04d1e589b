#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from activelog.bootstrap import bootstrap_process, shutdown_process

    try:
        # Migrations and the daily clean-up run as one-off ECS tasks: they need the metrics
        # directory, tracing and log shipping as much as the server does.
        bootstrap_process("manage")
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A missing or invalid variable is one clear line, not a traceback.
        sys.exit(f"activelog: configuration error: {exc}")
    finally:
        shutdown_process()


if __name__ == "__main__":
    main()
