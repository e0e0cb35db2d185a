"""Status callbacks: what Twilio posts to a call's StatusCallback URL. Every call sends its
`completed` event once, whatever its final status; outbound and dialled calls may ask for
`initiated`, `ringing` and `answered` too. Each carries a SequenceNumber, counted per call.

`StatusCallbacks` is part of `SimulatedCall` (`leg.py`) and uses its lock, its events and its
webhook parameters, as `Leg` (`engine.py`) declares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from standin.engine import Leg
from standin.line import rfc2822

# The callback status each progress event reports.
_PROGRESS_STATUS = {"initiated": "queued", "ringing": "ringing", "answered": "in-progress"}


@dataclass(frozen=True)
class StatusCallback:
    """Where and how a call reports its status, and which events it reports."""

    url: str
    method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})


class StatusCallbacks(Leg):
    """Sending a call's status callbacks."""

    _status_callback: StatusCallback | None
    _status_sent: bool
    _sequence: int

    @property
    def status_callback_url(self) -> str | None:
        """Where this call's status callbacks go (tests replay them, as Twilio's retries
        would)."""
        return self._status_callback.url if self._status_callback is not None else None

    def _callback_params(self, status: str) -> dict[str, str]:
        params = self.base_params(status) | {
            "CallDuration": str(self.duration),
            "Timestamp": rfc2822(self.twilio.clock()),
            "SequenceNumber": str(self._sequence),
            "CallbackSource": "call-progress-events",
        }
        self._sequence += 1
        return params

    def _progress_callback(self, event: str) -> None:
        callback = self._status_callback
        if callback is None or event not in callback.events:
            return
        with self._lock:
            params = self._callback_params(_PROGRESS_STATUS[event])
        self._post_callback(callback, params)

    def _send_status_callback(self) -> tuple[int, str]:
        """The `completed` event (whatever the final status), once per call."""
        with self._lock:
            if self._status_sent or not self._ended:
                return 0, ""
            self._status_sent = True
            callback = self._status_callback
            if callback is None:
                return 0, ""
            params = self._callback_params(self.status)
        return self._post_callback(callback, params)

    def _post_callback(self, callback: StatusCallback, params: dict[str, str]) -> tuple[int, str]:
        try:
            return self.twilio.request(callback.method, callback.url, params)
        except requests.RequestException as exc:
            with self._lock:
                self._event("error", f"status callback {callback.url}: {exc}")
            return 0, str(exc)
