"""Twilio's side of a call: signed webhook requests and a TwiML interpreter.

`SimulatedTwilio.dial()` places a call at the app's `/voice/incoming` and runs the TwiML it
gets back until the caller is asked for input (a <Gather>), the call hangs up, or the app
stops answering. The test, or a person, then presses keys, speaks, stays silent or hangs up.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

from app.http_sessions import SessionPerThread
from app.simulator import twiml

# Redirects followed without the caller doing anything, before the simulator calls it a loop.
MAX_STEPS_WITHOUT_INPUT = 25


class SimulatorError(RuntimeError):
    """The app answered something Twilio would not accept (an error status, bad TwiML)."""


class Transport(Protocol):
    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        """POST a form to `path` (path and query) on the app; return (status, body)."""
        ...


class HttpTransport:
    """Reach a running app over real HTTP (keep-alive, one session per thread)."""

    def __init__(self, address: str, timeout: float = 20.0) -> None:
        self._address = address.rstrip("/")
        self._sessions = SessionPerThread()
        self._timeout = timeout

    def close(self) -> None:
        self._sessions.close_all()

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        response = self._sessions.get().post(
            self._address + path, data=dict(form), headers=dict(headers), timeout=self._timeout
        )
        return response.status_code, response.text


class FlaskClientTransport:
    """Reach the app in-process through Flask's test client (fast unit-level tests)."""

    def __init__(self, client) -> None:
        self._client = client

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        response = self._client.post(path, data=dict(form), headers=dict(headers))
        return response.status_code, response.get_data(as_text=True)


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


class SimulatedTwilio:
    """One Twilio account calling one app: signs every request with the auth token over the
    public URL, exactly as Twilio does."""

    def __init__(
        self,
        transport: Transport,
        public_base_url: str,
        auth_token: str,
        account_sid: str,
    ) -> None:
        self.transport = transport
        self.public_base_url = public_base_url.rstrip("/")
        self.account_sid = account_sid
        self._validator = RequestValidator(auth_token)

    def post(
        self, url: str, form: Mapping[str, str], *, signature: str | None = None
    ) -> tuple[int, str]:
        """POST to a public URL (absolute, or a path on the public base URL), signed unless a
        `signature` is given (tests use that to forge one)."""
        absolute = urljoin(self.public_base_url + "/", url)
        parts = urlsplit(absolute)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if signature is None:
            signature = self._validator.compute_signature(absolute, dict(form))
        return self.transport.post(path, form, {"X-Twilio-Signature": signature})

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def dial(self, from_: str, to: str, call_sid: str | None = None) -> SimulatedCall:
        call = SimulatedCall(twilio=self, sid=call_sid or new_call_sid(), from_=from_, to=to)
        call.request("/voice/incoming", status="ringing")
        return call


@dataclass
class SimulatedCall:
    twilio: SimulatedTwilio
    sid: str
    from_: str
    to: str
    heard: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    gather: twiml.Gather | None = None
    ended: bool = False
    _after_gather: list[twiml.Verb] = field(default_factory=list)
    _url: str = "/voice/incoming"

    def base_params(self, status: str = "in-progress") -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": self.twilio.account_sid,
            "From": self.from_,
            "To": self.to,
            "CallStatus": status,
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }

    # -- what the caller does -------------------------------------------------------------

    def press(self, digits: str) -> SimulatedCall:
        gather = self._expect_gather("dtmf")
        return self._answer_gather(gather, {"Digits": digits})

    def say(self, text: str, confidence: float = 0.92) -> SimulatedCall:
        gather = self._expect_gather("speech")
        return self._answer_gather(
            gather, {"SpeechResult": text, "Confidence": f"{confidence:.2f}"}
        )

    def stay_silent(self) -> SimulatedCall:
        """Let the Gather time out: Twilio falls through to the next verb (or posts the
        action with nothing when actionOnEmptyResult is set)."""
        gather = self._expect_gather(None)
        self.gather = None
        if gather.action_on_empty_result:
            self.request(gather.action)
        else:
            self._run(self._after_gather, steps=0)
        return self

    def hang_up(self, status: str = "completed") -> tuple[int, str]:
        """The line ends (the caller hung up, or it dropped): Twilio's status callback."""
        self.ended = True
        self.gather = None
        params = self.base_params(status) | {
            "CallDuration": "42",
            "CallbackSource": "call-progress-events",
        }
        return self.twilio.post("/voice/status", params)

    # -- what Twilio does -----------------------------------------------------------------

    def heard_since(self, mark: int) -> str:
        return " ".join(self.heard[mark:])

    def request(
        self, url: str, status: str = "in-progress", extra: Mapping[str, str] = (), steps: int = 0
    ) -> None:
        self._url = urljoin(self._url, url)
        code, body = self.twilio.post(self._url, self.base_params(status) | dict(extra))
        if code != 200:
            raise SimulatorError(f"{self._url} answered {code}: {body[:500]}")
        self._run(twiml.parse(body), steps)

    def _run(self, verbs: list[twiml.Verb], steps: int) -> None:
        if steps > MAX_STEPS_WITHOUT_INPUT:
            raise SimulatorError(f"more than {MAX_STEPS_WITHOUT_INPUT} redirects without input")
        for index, verb in enumerate(verbs):
            match verb:
                case twiml.Say() | twiml.Play() | twiml.Pause():
                    self._hear(verb)
                case twiml.Gather():
                    for child in verb.children:
                        self._hear(child)
                    self.gather = verb
                    self._after_gather = verbs[index + 1 :]
                    return
                case twiml.Redirect(url=url):
                    self.request(url, steps=steps + 1)
                    return
                case twiml.Hangup():
                    self.ended = True
                    return
        # Twilio hangs up when a document runs out of verbs.
        self.ended = True

    def _hear(self, verb: twiml.Say | twiml.Play | twiml.Pause) -> None:
        if isinstance(verb, twiml.Say):
            self.heard.append(verb.text)
        elif isinstance(verb, twiml.Play):
            self.played.append(verb.url)

    def _expect_gather(self, kind: str | None) -> twiml.Gather:
        if self.ended or self.gather is None:
            raise SimulatorError("the caller is not being asked for input")
        if kind is not None and kind not in self.gather.input:
            raise SimulatorError(f"the prompt does not listen for {kind} ({self.gather.input})")
        return self.gather

    def _answer_gather(self, gather: twiml.Gather, result: dict[str, str]) -> SimulatedCall:
        self.gather = None
        self.request(gather.action, extra=result)
        return self
