"""The production WSGI app plus one slow path, for the graceful-shutdown test only."""

import time
from urllib.parse import parse_qs

from activelog.wsgi import application as django_application


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/__slow":
        seconds = float(parse_qs(environ.get("QUERY_STRING", "")).get("seconds", ["2"])[0])
        time.sleep(seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"finished"]
    return django_application(environ, start_response)
