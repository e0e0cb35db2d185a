"""How the stand-in reaches the app: real HTTP, or Flask's test client in-process.

A transport only moves bytes; signing and the TwiML that comes back are the account's and the
legs' business (`account.py`, `leg.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import requests

if TYPE_CHECKING:
    from flask.testing import FlaskClient


class Transport(Protocol):
    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        """POST a form to `path` (path and query) on the app; return (status, body)."""
        ...

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, str]:
        """GET `path` (path and query, parameters included) on the app; (status, body)."""
        ...


class _SessionPerThread:
    """Keep-alive sessions, one per thread (a requests Session is not for sharing between
    threads), all closed together."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._all.append(session)
        return session

    def close_all(self) -> None:
        with self._lock:
            for session in self._all:
                session.close()
            self._all.clear()
        self._local = threading.local()


class HttpTransport:
    """Reach a running app over real HTTP (keep-alive, one session per thread)."""

    def __init__(self, address: str, timeout: float = 20.0) -> None:
        self._address = address.rstrip("/")
        self._sessions = _SessionPerThread()
        self._timeout = timeout

    @property
    def address(self) -> str:
        return self._address

    def close(self) -> None:
        self._sessions.close_all()

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        return self._send("POST", path, headers, dict(form))

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, str]:
        return self._send("GET", path, headers, None)

    def _send(
        self, method: str, path: str, headers: Mapping[str, str], form: dict[str, str] | None
    ) -> tuple[int, str]:
        # One retry when the connection fails (typically a keep-alive connection the server
        # closed just as it was reused): Twilio, too, tries a webhook's connection again, and
        # webhook handlers must cope with a request sent twice.
        for attempt in (1, 2):
            try:
                response = self._sessions.get().request(
                    method,
                    self._address + path,
                    data=form,
                    headers=dict(headers),
                    timeout=self._timeout,
                )
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                continue
            return response.status_code, response.text
        raise AssertionError("unreachable")


class FlaskClientTransport:
    """Reach the app in-process through Flask's test client (fast unit-level tests)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        response = self._client.post(path, data=dict(form), headers=dict(headers))
        return response.status_code, response.get_data(as_text=True)

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, str]:
        response = self._client.get(path, headers=dict(headers))
        return response.status_code, response.get_data(as_text=True)
