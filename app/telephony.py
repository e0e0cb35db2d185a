"""Twilio's REST API, as the product uses it: move a live call, ask how a call stands.
The one module that talks to Twilio; its base URL comes from `TWILIO_API_BASE_URL`, so the
project's simulator (or a mock) can stand in for Twilio.
"""

from __future__ import annotations

import logging

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)

# Twilio's answers that mean "that call is not live any more" rather than "try again".
_NOT_FOUND = 20404
_NOT_IN_PROGRESS = 21220  # "Call is not in-progress. Cannot redirect."
# A job waits at most this long for Twilio; a retry (or the lease) covers a slow answer.
REST_TIMEOUT_SECONDS = 5.0

# Twilio unreachable or answering nonsense: twilio-python lets the network errors of
# `requests` through, and a body that is not JSON as ValueError.
_UNREACHABLE = (TwilioException, requests.RequestException, ValueError)

LIVE_STATUSES = frozenset({"queued", "ringing", "in-progress"})


class TelephonyUnavailable(Exception):
    """Twilio could not be reached or failed (network, 5xx, throttling): worth a retry."""


class Telephony:
    """The Twilio REST calls the product makes, each answering in the product's terms."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str,
        timeout: float = REST_TIMEOUT_SECONDS,
    ) -> None:
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

    def redirect(self, call_sid: str, url: str) -> bool:
        """Make a live call fetch and run the TwiML at `url` now. False when the call is no
        longer live (it ended, or Twilio does not know it)."""
        try:
            self._client.calls(call_sid).update(url=url, method="POST")
        except TwilioRestException as exc:
            if _call_gone(exc):
                log.info("call %s cannot be moved: %s", call_sid, exc.msg)
                return False
            raise TelephonyUnavailable(_describe(exc)) from exc
        except _UNREACHABLE as exc:
            raise TelephonyUnavailable(str(exc)) from exc
        return True

    def call_status(self, call_sid: str) -> str | None:
        """Twilio's status of the call (queued, ringing, in-progress, completed, ...), or
        None when Twilio does not know it."""
        try:
            status: str | None = self._client.calls(call_sid).fetch().status
            return status
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise TelephonyUnavailable(_describe(exc)) from exc
        except _UNREACHABLE as exc:
            raise TelephonyUnavailable(str(exc)) from exc


def _call_gone(exc: TwilioRestException) -> bool:
    return exc.status == 404 or exc.code in (_NOT_FOUND, _NOT_IN_PROGRESS)


def _describe(exc: TwilioRestException) -> str:
    return f"Twilio answered {exc.status} (code {exc.code}): {exc.msg}"
