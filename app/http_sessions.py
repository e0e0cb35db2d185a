"""Keep-alive HTTP sessions, one per thread (requests' Session is not for sharing between
threads), all closed together when their owner closes."""

from __future__ import annotations

import threading

import requests


class SessionPerThread:
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
