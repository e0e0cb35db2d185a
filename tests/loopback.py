"""Servers on a free loopback port for the duration of a test, in a thread: stopped, their
listening socket closed and their thread joined afterwards (an unclosed socket fails the run
at exit). A short poll interval, because shutdown waits for the next poll."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from socketserver import BaseServer
from typing import Any

from werkzeug.serving import make_server

POLL_SECONDS = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answer_json(handler: BaseHTTPRequestHandler, body: object) -> None:
    """A 200 with `body` as JSON, from a test server's request handler."""
    data = json.dumps(body).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def running(server: BaseServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """A WSGI app behind a threaded HTTP server; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with running(server):
        yield f"http://127.0.0.1:{server.server_port}"
