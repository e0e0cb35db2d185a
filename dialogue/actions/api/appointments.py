"""Where rescheduled appointments are kept: Redis, one hash per account.

Key `demo:appointments:<account>`, field = appointment id, value = JSON
`{"id", "kind", "date", "window", "previous_date", "changed_at"}`. The customer file holds the
booked appointments; a field here overrides that appointment's date. Nothing here ever
touches the queue's keys (`cq:*`): those belong to the web app's Lua scripts.

Redis is `$REDIS_URL` (default redis://127.0.0.1:6379/0), opened on first use with short
timeouts, so a slow or absent Redis costs a caller at most about a second.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from datetime import datetime

import redis

from actions.api.customers import Appointment

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
KEY_PREFIX = "demo:appointments:"
_TIMEOUT_SECONDS = 0.5

StoreError = redis.RedisError


def appointments_key(account_number: str) -> str:
    if not account_number.isdigit():
        raise ValueError("account numbers are digits only")
    return KEY_PREFIX + account_number


class AppointmentStore:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def current(self, account_number: str, booked: tuple[Appointment, ...]) -> list[Appointment]:
        """The account's appointments with any rescheduling applied."""
        changes = self._client.hgetall(appointments_key(account_number))
        result = []
        for appointment in booked:
            change = changes.get(appointment.id)
            if change:
                appointment = replace(appointment, date=json.loads(change)["date"])
            result.append(appointment)
        return result

    def move(self, account_number: str, appointment: Appointment, new_date: str) -> None:
        record = {
            "id": appointment.id,
            "kind": str(appointment.kind),
            "date": new_date,
            "window": str(appointment.window),
            "previous_date": appointment.date,
            "changed_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        self._client.hset(appointments_key(account_number), appointment.id, json.dumps(record))


_lock = threading.Lock()
_stores: dict[str, AppointmentStore] = {}


def get_store(url: str | None = None) -> AppointmentStore:
    """One store (and connection pool) per Redis URL, created on first use."""
    url = url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    with _lock:
        if url not in _stores:
            client = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=_TIMEOUT_SECONDS,
                socket_connect_timeout=_TIMEOUT_SECONDS,
            )
            _stores[url] = AppointmentStore(client)
        return _stores[url]
