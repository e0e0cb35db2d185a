"""Twilio's REST API, as the product uses it: move a live call, ask how a call stands,
place a callback, hang a call up.
The one module that talks to Twilio; its base URL comes from `TWILIO_API_BASE_URL`, so the
project's simulator (or a mock) can stand in for Twilio.

Transient faults (`rest_faults.classify`) are tried again a few times with exponential
backoff and full jitter, so many workers hitting a throttled account do not retry in step;
past that the caller's job is retried later. Permanent faults are never retried here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.rest_faults import RestFault, RestFaults, classify

log = logging.getLogger(__name__)

# Twilio's answers that mean "that call is not live any more" rather than "try again".
_NOT_FOUND = 20404
_NOT_IN_PROGRESS = 21220  # "Call is not in-progress. Cannot redirect."
# A job waits at most this long for Twilio; a retry (or the lease) covers a slow answer.
REST_TIMEOUT_SECONDS = 5.0

# What twilio-python raises when a request fails (see rest_faults.classify).
_FAILURES = (TwilioException, requests.RequestException, ValueError)

LIVE_STATUSES = frozenset({"queued", "ringing", "in-progress"})
# The status changes of a placed call the app hears about.
OUTBOUND_EVENTS = ("initiated", "ringing", "answered", "completed")
# Twilio's clocks and ours may differ by this much when matching a call by its creation time.
CLOCK_SKEW = timedelta(seconds=5)

T = TypeVar("T")


class TelephonyUnavailable(Exception):
    """Twilio could not be reached or failed (network, 5xx, throttling): worth a retry."""


class TelephonyRejected(Exception):
    """Twilio refused the request and will refuse it again (credentials, a bad URL or
    number): retrying changes nothing until someone fixes the settings or the data."""

    def __init__(self, fault: RestFault) -> None:
        super().__init__(fault.message)
        self.fault = fault


@dataclass(frozen=True)
class OutboundCall:
    """A call the app places (a callback): from one of the queue's numbers, asking Twilio to
    tell a machine from a person before fetching `url` (AnsweredBy)."""

    to: str
    from_: str
    url: str
    status_callback: str
    ring_seconds: int


@dataclass(frozen=True)
class Backoff:
    """Tries of one request on transient faults: the n-th retry waits a random time up to
    min(cap, base * 2**n) ("full jitter")."""

    tries: int = 3
    base_seconds: float = 0.2
    cap_seconds: float = 2.0

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        return rand() * min(self.cap_seconds, self.base_seconds * 2.0**retry)


class Telephony:
    """The Twilio REST calls the product makes, each answering in the product's terms."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        faults: RestFaults | None = None,
        timeout: float = REST_TIMEOUT_SECONDS,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._faults = faults
        self._backoff = backoff
        self._sleep = sleep
        self._http = TwilioHttpClient(timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        # twilio-python builds every API 2010 URL from this domain's base URL; TWILIO_REGION
        # or TWILIO_EDGE in the environment would rewrite its host, so they are cleared.
        self._client.api.base_url = api_base_url.rstrip("/")
        self._client.edge = None
        self._client.region = None

    def close(self) -> None:
        """Close the keep-alive connections to Twilio."""
        if self._http.session is not None:
            self._http.session.close()

    def _request(
        self, operation: str, send: Callable[[], T], gone: Callable[[TwilioRestException], bool]
    ) -> T | None:
        """`send()`, tried again on transient faults; None when `gone` says Twilio's answer
        means the call is not there any more. Raises TelephonyUnavailable when the tries
        run out, TelephonyRejected at once on a permanent fault."""
        retry = 0
        while True:
            try:
                result = send()
            except TwilioRestException as exc:
                if gone(exc):
                    self._succeeded()
                    return None
                fault = classify(exc)
            except _FAILURES as exc:
                fault = classify(exc)
            else:
                self._succeeded()
                return result
            if self._faults is not None:
                self._faults.record(operation, fault)
            if not fault.transient:
                raise TelephonyRejected(fault)
            if retry + 1 >= self._backoff.tries:
                raise TelephonyUnavailable(fault.message)
            self._sleep(self._backoff.delay(retry))
            retry += 1

    def _succeeded(self) -> None:
        if self._faults is not None:
            self._faults.succeeded()

    def redirect(self, call_sid: str, url: str) -> bool:
        """Make a live call fetch and run the TwiML at `url` now. False when the call is no
        longer live (it ended, or Twilio does not know it). Moving a call twice to the same
        URL does no harm, so a timed-out request is simply sent again."""

        def send() -> bool:
            self._client.calls(call_sid).update(url=url, method="POST")
            return True

        moved = self._request("redirect", send, _call_gone)
        if moved is None:
            log.info("call %s cannot be moved: it is no longer live", call_sid)
        return bool(moved)

    def place_call(self, call: OutboundCall) -> str:
        """Place `call`; returns its CallSid. Creating a call is not idempotent, so after a
        transient fault (the request may have reached Twilio) it first looks for a call it
        created meanwhile to that number from that number, and takes it rather than place
        a second one: a caller is never rung twice for one try."""
        started = datetime.now(UTC) - CLOCK_SKEW
        sent = 0

        def send() -> str:
            nonlocal sent
            if sent and (placed := self._created_since(call, started)) is not None:
                log.info("call to %s was placed despite the fault: %s", call.to[-2:], placed)
                return placed
            sent += 1
            created = self._client.calls.create(
                to=call.to,
                from_=call.from_,
                url=call.url,
                method="POST",
                status_callback=call.status_callback,
                status_callback_method="POST",
                status_callback_event=list(OUTBOUND_EVENTS),
                timeout=call.ring_seconds,
                machine_detection="Enable",
            )
            sid: str = created.sid
            return sid

        placed = self._request("place call", send, lambda exc: False)
        assert placed is not None  # nothing counts as "gone" for a new call
        return placed

    def _created_since(self, call: OutboundCall, since: datetime) -> str | None:
        for existing in self._client.calls.list(to=call.to, from_=call.from_, limit=20):
            created = existing.date_created
            if created is not None and created >= since:
                sid: str = existing.sid
                return sid
        return None

    def hang_up(self, call_sid: str) -> bool:
        """End a call whatever it is doing (ringing or talking). False when it was already
        over."""

        def send() -> bool:
            self._client.calls(call_sid).update(status="completed")
            return True

        return bool(self._request("hang up", send, _call_gone))

    def call_status(self, call_sid: str) -> str | None:
        """Twilio's status of the call (queued, ringing, in-progress, completed, ...), or
        None when Twilio does not know it."""

        def send() -> str | None:
            status: str | None = self._client.calls(call_sid).fetch().status
            return status

        return self._request("call status", send, lambda exc: exc.status == 404)


def _call_gone(exc: TwilioRestException) -> bool:
    return exc.status == 404 or exc.code in (_NOT_FOUND, _NOT_IN_PROGRESS)
