"""Request bodies of unknown length (Transfer-Encoding: chunked) under the production server.

gunicorn decodes them, but WSGI gives Django no length, and Django reads such a body as empty: a
chunked login was "field required". They are refused with 411 instead (activelog/middleware.py).
"""

import http.client
import json
import os
import socket
import threading
from urllib.parse import urlparse

import pytest

from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env, collect_static, migrated_database

pytestmark = pytest.mark.slow

LOGIN = {"email": "nobody@example.com", "password": "not-the-point-1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = urlparse(os.environ["DATABASE_URL"])  # beside the suite's database: parallel runs never share it
    database_url = migrated_database(url._replace(path=f"{url.path}_faults").geturl())
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=database_url,
                    DJANGO_STATIC_ROOT=str(collect_static(tmp_path_factory.mktemp("static"))))
    with Gunicorn(env, workers=1) as g:
        yield g


def send_chunked(server, path: str, body: bytes, content_type="application/json"):
    """POST ``body`` in chunks, reading the answer while still sending, as HTTP clients do: a
    server that answers before reading a large body closes the connection on the rest."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Proto: https\r\n"
            f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")

    def write():
        try:
            sock.sendall(head.encode())
            for start in range(0, len(body), 65536):
                piece = body[start:start + 65536]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the answer is what counts

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    response = http.client.HTTPResponse(sock)
    response.begin()
    data = response.read()
    writer.join(timeout=30)
    sock.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@pytest.mark.parametrize("size", ["small", "3 MiB"])
def test_a_chunked_api_body_is_a_411_problem(server, size):
    payload = dict(LOGIN, padding="x" * (3 * 1024 * 1024 if size == "3 MiB" else 0))

    status, headers, body = send_chunked(server, "/api/v1/auth/login", json.dumps(payload).encode())

    assert status == 411, body[:300]
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"] == "https://activelog.dev/problems/length-required"
    assert problem["status"] == 411
    assert "Content-Length" in problem["detail"]
    assert problem["request_id"] == headers["x-request-id"]


def test_the_same_body_with_its_length_is_read(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("POST", "/api/v1/auth/login", body=json.dumps(LOGIN),
                       headers={"Host": "localhost", "X-Forwarded-Proto": "https", "Content-Type": "application/json"})
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert response.status == 401, body  # the credentials were read (and are wrong)


def test_a_chunked_form_is_a_411_page(server):
    status, headers, body = send_chunked(server, "/accounts/login", b"identifier=nobody&password=x",
                                         content_type="application/x-www-form-urlencoded")

    assert status == 411
    assert headers["content-type"].startswith("text/html")
    assert b"Length required" in body
