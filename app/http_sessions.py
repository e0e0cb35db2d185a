"""Keep-alive HTTP sessions lent to one request at a time (requests' Session is not for
sharing between threads), kept for the next one, all closed together when their owner
closes. Lent rather than one per thread: under gevent's workers every request is a greenlet
of its own, and sessions per greenlet would open a connection per request and pile up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests

# Sessions kept idle at most: as many as requests at once to one place, usually far fewer.
KEEP_IDLE = 64


class SessionPool:
    def __init__(self, keep_idle: int = KEEP_IDLE) -> None:
        self._idle: list[requests.Session] = []
        self._lock = threading.Lock()
        self._keep_idle = keep_idle

    @contextmanager
    def session(self) -> Iterator[requests.Session]:
        """A session of this pool's own for the `with` block: the most recently used idle
        one (its connection the likeliest still open), else a new one."""
        with self._lock:
            session = self._idle.pop() if self._idle else None
        if session is None:
            session = requests.Session()
        try:
            yield session
        finally:
            with self._lock:
                kept = len(self._idle) < self._keep_idle
                if kept:
                    self._idle.append(session)
            if not kept:
                session.close()

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close_all(self) -> None:
        """Close the idle sessions (one lent out now is kept when it comes back, for the
        next close)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()
