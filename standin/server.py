"""The stand-in as a service: Twilio's REST API (`rest.py`) and the control API
(`control.py`) on one loopback port, the one `TWILIO_API_BASE_URL` names.

`serve()` is `python -m standin serve`; `StandInServer` runs the same thing in a
background thread (tests, `run --in-process`).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from standin import control, current, rest
from standin.account import SimulatedTwilio
from standin.settings import StandInSettings
from standin.timing import Timing
from standin.transport import HttpTransport

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Twilio gives up on a webhook after 15 seconds.
WEBHOOK_TIMEOUT_SECONDS = 15.0


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def listen_address(api_base_url: str) -> tuple[str, int]:
    """Where the stand-in listens: TWILIO_API_BASE_URL's host and port, which must be a
    loopback http address with a port (the stand-in is never exposed)."""
    parts = urlsplit(api_base_url)
    if not is_loopback_url(api_base_url) or parts.port is None:
        raise ValueError(
            f"TWILIO_API_BASE_URL is {api_base_url!r}: for the stand-in it must be a loopback "
            "address with a port, such as http://127.0.0.1:8020"
        )
    return parts.hostname or "127.0.0.1", parts.port


class AppLocation(Protocol):
    """Where the app listens, as settings describe it (the stand-in's own, or the app's when
    a benchmark drives callers)."""

    @property
    def public_base_url(self) -> str: ...

    @property
    def port(self) -> int: ...


def default_app_address(settings: AppLocation) -> str:
    """Where the app listens, unless told: PUBLIC_BASE_URL when it is a loopback address (as
    in development: Twilio calls that very URL), else http://127.0.0.1:$PORT. (Under honcho
    every process gets its own PORT, so the stand-in's PORT is not the web process's.)"""
    if settings.public_base_url and is_loopback_url(settings.public_base_url):
        return settings.public_base_url.rstrip("/")
    return f"http://127.0.0.1:{settings.port}"


def create_standin_app(twilio: SimulatedTwilio, app_address: str) -> Flask:
    """One WSGI app: `/2010-04-01/...` (Twilio's REST API) and `/sim/...` (control)."""
    app = Flask("twilio_standin")
    current.init_app(app, twilio, app_address)
    app.register_blueprint(rest.bp)
    app.register_blueprint(control.bp)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _http_error(error: HTTPException) -> Response:
    response = jsonify(error=error.description, status=error.code)
    response.status_code = error.code or 500
    return response


def build_twilio(settings: StandInSettings, app_address: str, timing: Timing) -> SimulatedTwilio:
    """The simulated account: signs with TWILIO_AUTH_TOKEN over PUBLIC_BASE_URL and sends
    every webhook to the app at `app_address`."""
    return SimulatedTwilio(
        HttpTransport(app_address, timeout=WEBHOOK_TIMEOUT_SECONDS),
        settings.base_url,
        settings.auth_token,
        settings.account_sid,
        timing=timing,
    )


class StandInServer:
    """The stand-in on a loopback port, served by threads until `stop()`."""

    def __init__(
        self, twilio: SimulatedTwilio, app_address: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.twilio = twilio
        self._server = make_server(
            host, port, create_standin_app(twilio, app_address), threaded=True
        )
        # A short poll keeps stop() quick (tests start and stop many of these).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="standin-http", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> StandInServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, then stop the calls' threads and close connections."""
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self.twilio.close()

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def serve(settings: StandInSettings, app_address: str, timing: Timing) -> int:
    """Serve until interrupted (Ctrl-C, or SIGTERM from honcho). 2 on a setup problem."""
    try:
        host, port = listen_address(settings.twilio_api_base_url)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not is_loopback_url(app_address):
        print(f"the app address {app_address!r} must be a loopback http URL", file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per long-poll
    twilio = build_twilio(settings, app_address, timing)
    try:
        server = make_server(host, port, create_standin_app(twilio, app_address), threaded=True)
    except OSError as exc:
        twilio.close()
        print(f"cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    mode = (
        f"real time, a <Play> lasts {timing.music_seconds:g} s"
        + (f", time x{timing.time_scale:g}" if timing.time_scale != 1 else "")
        if timing.realtime
        else "step mode (nothing happens until a caller acts)"
    )
    print(
        f"Twilio stand-in listening on http://{host}:{port} (REST API 2010-04-01 and /sim "
        f"control); webhooks to {app_address}, signed for {settings.base_url}; {mode}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        twilio.close()
    return 0
