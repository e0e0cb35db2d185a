"""The simulated Twilio account: signs every webhook request as Twilio does, places calls
(inbound at the app's `/voice/incoming`, outbound as the REST API's `POST Calls.json`), and
keeps every call it has placed or received for the REST and control APIs.

A call runs asynchronously, as on Twilio: `dial()` runs the first TwiML in the calling
thread until the call parks; after that, the caller (a test, a person, a scenario), timers
and REST updates move it on (`leg.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlencode, urljoin, urlsplit

from twilio.request_validator import RequestValidator

from standin import twiml
from standin.callbacks import StatusCallback
from standin.leg import SimulatedCall
from standin.line import new_call_sid
from standin.phones import Phones
from standin.timing import Background, Timing
from standin.transport import Transport
from standin.work import Fetch, Item, Resume

# Ended calls kept for the REST API and the control API before the oldest are forgotten.
MAX_ENDED_CALLS = 5000


class SimulatedTwilio:
    """One Twilio account calling one app: signs every request with the auth token over the
    public URL, exactly as Twilio does, and keeps every call it has placed or received."""

    def __init__(
        self,
        transport: Transport,
        public_base_url: str,
        auth_token: str,
        account_sid: str,
        *,
        timing: Timing | None = None,
        phones: Phones | None = None,
        incoming_url: str = "/voice/incoming",
        status_callback_url: str = "/voice/status",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transport = transport
        self.public_base_url = public_base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.timing = timing or Timing()
        self.phones = phones or Phones()
        self.incoming_url = incoming_url
        self.status_callback_url = status_callback_url
        self.clock = clock
        self.background = Background()
        self._validator = RequestValidator(auth_token)
        self._calls: dict[str, SimulatedCall] = {}
        self._calls_lock = threading.Lock()

    # -- signed requests ----------------------------------------------------------------

    def post(
        self, url: str, form: Mapping[str, str], *, signature: str | None = None
    ) -> tuple[int, str]:
        """POST to a public URL (absolute, or a path on the public base URL), signed unless a
        `signature` is given (tests use that to forge one)."""
        absolute = urljoin(self.public_base_url + "/", url)
        if signature is None:
            signature = self._validator.compute_signature(absolute, dict(form))
        return self.transport.post(_path(absolute), form, {"X-Twilio-Signature": signature})

    def request(self, method: str, url: str, params: Mapping[str, str]) -> tuple[int, str]:
        """A webhook request as Twilio makes it: POST with a form, or GET with the
        parameters in the query string (signed over the URL with them)."""
        if method.upper() != "GET":
            return self.post(url, params)
        absolute = urljoin(self.public_base_url + "/", url)
        full = absolute + ("&" if "?" in absolute else "?") + urlencode(dict(params))
        signature = self._validator.compute_signature(full, {})
        return self.transport.get(_path(full), {"X-Twilio-Signature": signature})

    def close(self) -> None:
        """Stop the timer and worker threads; close the transport's connections."""
        self.background.close()
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    # -- calls --------------------------------------------------------------------------

    def dial(self, from_: str, to: str, call_sid: str | None = None) -> SimulatedCall:
        """An inbound call from `from_` to the number `to`: requests `/voice/incoming` and
        runs what comes back until the call parks or ends (in this thread)."""
        call = SimulatedCall(twilio=self, sid=call_sid or new_call_sid(), from_=from_, to=to)
        call.request(self.incoming_url, status="ringing")
        return call

    def create_call(
        self,
        to: str,
        from_: str,
        *,
        url: str | None = None,
        document: str | None = None,
        method: str = "POST",
        status_callback: str | None = None,
        status_callback_event: Iterable[str] = ("completed",),
        status_callback_method: str = "POST",
        timeout: int = 60,
        machine_detection: str | None = None,
    ) -> SimulatedCall:
        """An outbound call (Twilio's `POST Calls.json`): returns at once with the call
        queued. Its phone rings in the background (per `phones`) once `call.ring()` is
        called, and when it answers the call requests `url` (or runs `document`, TwiML)."""
        if (url is None) == (document is None):
            raise ValueError("give exactly one of url and document")
        first: Item = (
            Fetch(url, method) if url is not None else Resume(tuple(twiml.parse(document or "")))
        )
        callback = (
            StatusCallback(
                status_callback, status_callback_method.upper(), frozenset(status_callback_event)
            )
            if status_callback
            else None
        )
        call = SimulatedCall(
            twilio=self,
            sid=new_call_sid(),
            from_=from_,
            to=to,
            direction="outbound-api",
            status_callback=callback,
        )
        call.place(first, timeout, machine_detection)
        return call

    def call(self, sid: str) -> SimulatedCall | None:
        with self._calls_lock:
            return self._calls.get(sid)

    def calls(self) -> list[SimulatedCall]:
        with self._calls_lock:
            return list(self._calls.values())

    def register(self, call: SimulatedCall) -> None:
        """Keep a new call, so the REST and control APIs find it by its sid; the oldest ended
        calls are forgotten beyond MAX_ENDED_CALLS."""
        with self._calls_lock:
            self._calls[call.sid] = call
            if len(self._calls) > 2 * MAX_ENDED_CALLS:
                ended = [sid for sid, c in self._calls.items() if c.ended]
                for sid in ended[: len(ended) - MAX_ENDED_CALLS]:
                    del self._calls[sid]


def _path(absolute: str) -> str:
    parts = urlsplit(absolute)
    return parts.path + (f"?{parts.query}" if parts.query else "")
