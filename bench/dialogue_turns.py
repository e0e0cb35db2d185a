"""One caller turn, five ways, timed as the client sees it.

- `app`: the project's turn endpoint. A simulated call is placed first (signed
  `POST /voice/incoming`, not timed), then `POST /voice/turn` with the utterance as Twilio's
  SpeechResult, signed exactly as SimulatedTwilio.post signs it. The app checks the
  signature, reads the call and the queue, asks Rasa (one request: replies, slots and
  intent) and saves the call before it answers.
- `rest`: Rasa's REST channel directly, with the call facts the app would send.
- `rest_state`: the app's channel (dialogue/channels.py): the same, answering with the
  slots and intent too, i.e. exactly the request the app's RasaClient makes per turn;
  (app - rest_state) is what the web app itself adds.
- `rest+tracker`: the REST channel plus a tracker read-back, as the app did before its
  channel (the two requests it made per turn).
- `twilio_voice`: Rasa's own Twilio voice channel, with the form fields Twilio sends.

Every conversation is new, so a first turn is the conversation's first message everywhere.
Signatures are computed before the clock starts: Twilio signs before it sends.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import requests
from twilio.request_validator import RequestValidator

from app.http_sessions import SessionPool
from app.twiml import path
from app.voice_reply import Route
from bench.dialogue_stack import ACCOUNT_SID, AUTH_TOKEN, PHASE_HEADER, Stack
from standin import HttpTransport, new_call_sid, twiml

APP, REST, REST_STATE, REST_TRACKER, TWILIO_VOICE = (
    "app",
    "rest",
    "rest_state",
    "rest+tracker",
    "twilio_voice",
)
CHANNELS = (APP, REST, REST_STATE, REST_TRACKER, TWILIO_VOICE)
CONFIDENCE = "0.90"
TIMEOUT_SECONDS = 20.0


@dataclass
class Conversation:
    sid: str  # CallSid, and the REST channel's sender (the app uses the CallSid too)
    caller: str  # E.164; the twilio_voice channel's sender id
    facts: dict[str, Any]  # metadata.call, as the app would send it


@dataclass(frozen=True)
class Turn:
    channel: str
    phase: str
    utterance: str
    ms: float
    error: str | None = None
    # app: what happens next for the caller (listen, digits, secret, wait, handoff, leave,
    # keypad_menu = the fallback when Rasa is unavailable or over budget); rest: whether the
    # replies carry a custom payload ("custom") or text only ("text"); twilio_voice:
    # "twiml", or "http 500" (see TwilioVoiceChannel).
    outcome: str | None = None
    intent: str | None = None  # from the tracker, where the channel reads it
    sid: str = ""
    round: int = -1  # the utterance's round: the same utterance on every channel


class Channel(Protocol):
    name: str

    def close(self) -> None: ...

    def start(self, conversation: Conversation) -> None:
        """Untimed set-up of a new conversation (the app: the call arrives)."""
        ...

    def turn(self, conversation: Conversation, utterance: str, phase: str) -> Turn: ...


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def _failed(channel: str, phase: str, utterance: str, error: Exception) -> Turn:
    return Turn(channel, phase, utterance, float("nan"), f"{type(error).__name__}: {error}")


class _Signer:
    """Twilio's request signing against a public base URL (SimulatedTwilio.post's logic,
    split so the signature is computed before the clock starts)."""

    def __init__(self, public_base_url: str) -> None:
        self._base = public_base_url.rstrip("/")
        self._validator = RequestValidator(AUTH_TOKEN)

    def headers(self, path: str, form: dict[str, str]) -> dict[str, str]:
        signature = self._validator.compute_signature(self._base + path, form)
        return {"X-Twilio-Signature": signature}


def twilio_form(conversation: Conversation, called: str, status: str) -> dict[str, str]:
    """The fields Twilio sends with every voice request (as SimulatedCall.base_params)."""
    return {
        "CallSid": conversation.sid,
        "AccountSid": ACCOUNT_SID,
        "From": conversation.caller,
        "To": called,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def speech(utterance: str) -> dict[str, str]:
    return {"SpeechResult": utterance, "Confidence": CONFIDENCE}


def app_outcome(body: str) -> str:
    """What the caller does next, read from the app's TwiML (app/conversation.py)."""
    verbs = twiml.parse(body)
    gather = next((verb for verb in verbs if isinstance(verb, twiml.Gather)), None)
    if gather is not None:
        if gather.action == path(Route.menu):
            return "keypad_menu"
        if gather.action == path(Route.secret):
            return "secret"
        if gather.action == path(Route.turn):
            # An open question listens for one key (0) or speech; a number waits for '#'.
            return "listen" if gather.num_digits == 1 else "digits"
        return f"gather {gather.action}"
    if any(isinstance(verb, twiml.Hangup) for verb in verbs):
        return "leave"
    return "wait or handoff"


class AppChannel:
    name = APP

    def __init__(self, app_url: str, called: str) -> None:
        self._transport = HttpTransport(app_url, timeout=TIMEOUT_SECONDS)
        self._signer = _Signer(app_url)
        self._called = called
        self._lock = threading.Lock()
        self.calls_placed = 0

    def close(self) -> None:
        self._transport.close()

    def start(self, conversation: Conversation) -> None:
        form = twilio_form(conversation, self._called, "ringing")
        status, body = self._transport.post(
            "/voice/incoming", form, self._signer.headers("/voice/incoming", form)
        )
        if status != 200 or "<Gather" not in body:
            raise RuntimeError(f"/voice/incoming answered {status}: {body[:300]}")
        with self._lock:
            self.calls_placed += 1

    def turn(self, conversation: Conversation, utterance: str, phase: str) -> Turn:
        form = twilio_form(conversation, self._called, "in-progress") | speech(utterance)
        headers = self._signer.headers(path(Route.turn), form) | {PHASE_HEADER: phase}
        try:
            (status, body), ms = _timed(
                lambda: self._transport.post(path(Route.turn), form, headers)
            )
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {body[:300]}")
            outcome = app_outcome(body)
        except (requests.RequestException, RuntimeError, twiml.TwimlError) as exc:
            return _failed(self.name, phase, utterance, exc)
        return Turn(self.name, phase, utterance, ms, outcome=outcome, sid=conversation.sid)


class RestChannel:
    """Rasa's REST channel (`rest`); with a tracker read-back (`rest+tracker`); or the
    app's channel, the state in the reply (`rest_state`)."""

    def __init__(self, rasa_url: str, token: str, name: str = REST) -> None:
        self.name = name
        self._base = rasa_url
        self._token = token
        self._tracker = name == REST_TRACKER
        self._path = "rest_state" if name == REST_STATE else "rest"
        # Keep-alive like the app's RasaClient.
        self._sessions = SessionPool()

    def close(self) -> None:
        self._sessions.close_all()

    def start(self, conversation: Conversation) -> None:
        """Nothing to set up: the first message opens the conversation."""

    def _exchange(self, conversation: Conversation, utterance: str) -> tuple[str, str | None]:
        """The replies' kind ("custom" or "text") and, with the tracker, the latest intent."""
        with self._sessions.session() as session:
            response = session.post(
                f"{self._base}/webhooks/{self._path}/webhook",
                json={
                    "sender": conversation.sid,
                    "message": utterance,
                    "metadata": {"call": conversation.facts},
                },
                timeout=TIMEOUT_SECONDS,
            )
        response.raise_for_status()
        body = response.json()
        replies = body["messages"] if self.name == REST_STATE else body
        if not isinstance(replies, list) or not replies:
            raise ValueError(f"no replies: {response.text[:200]}")
        kind = "custom" if any(reply.get("custom") for reply in replies) else "text"
        if self.name == REST_STATE:
            return kind, (body.get("intent") or {}).get("name")
        if not self._tracker:
            return kind, None
        with self._sessions.session() as session:
            tracker = session.get(
                f"{self._base}/conversations/{quote(conversation.sid, safe='')}/tracker",
                params={"include_events": "AFTER_RESTART", "token": self._token},
                timeout=TIMEOUT_SECONDS,
            )
        tracker.raise_for_status()
        return kind, latest_intent(tracker.json())

    def turn(self, conversation: Conversation, utterance: str, phase: str) -> Turn:
        try:
            (kind, intent), ms = _timed(lambda: self._exchange(conversation, utterance))
        except (requests.RequestException, ValueError) as exc:
            return _failed(self.name, phase, utterance, exc)
        return Turn(
            self.name, phase, utterance, ms, outcome=kind, intent=intent, sid=conversation.sid
        )


def latest_intent(tracker: dict[str, Any]) -> str | None:
    """The last user message's intent (as app/dialogue_client.py reads it)."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user":
            return ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return None


class TwilioVoiceChannel:
    """Rasa 3.6's rasa/core/channels/twilio_voice.py. Its sender id is the form's `From`
    (not the CallSid), so every conversation gets a new caller number. A request with
    SpeechResult is a turn; one without it and CallStatus=ringing would send the channel's
    `initial_prompt` ("hello") as a user message, so it is not sent: the utterance is then
    the conversation's first message, as it is for the other channels.

    The channel builds its TwiML from every collected message's "text"; a reply with a
    custom payload (this dialogue's `expect`, `wait`, `handoff`, `collect_secret`) is
    collected as a separate message without one, and the channel answers HTTP 500. The
    dialogue turn has run and been saved by then, so such a turn is kept as timed, with
    the outcome "http 500", not as an error."""

    name = TWILIO_VOICE
    PATH = "/webhooks/twilio_voice/webhook"

    def __init__(self, stack: Stack, called: str) -> None:
        self._transport = HttpTransport(stack.rasa_url, timeout=TIMEOUT_SECONDS)
        # The channel checks no signature; Twilio sends one anyway, so the request is the
        # same size and the client does the same work as for the app.
        self._signer = _Signer(stack.rasa_url)
        self._called = called

    def close(self) -> None:
        self._transport.close()

    def start(self, conversation: Conversation) -> None:
        """Nothing to set up (see the class docstring)."""

    def turn(self, conversation: Conversation, utterance: str, phase: str) -> Turn:
        form = twilio_form(conversation, self._called, "in-progress") | speech(utterance)
        headers = self._signer.headers(self.PATH, form)
        try:
            (status, body), ms = _timed(lambda: self._transport.post(self.PATH, form, headers))
            if status == 500:
                return Turn(
                    self.name, phase, utterance, ms, outcome="http 500", sid=conversation.sid
                )
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {body[:300]}")
            if not any(
                isinstance(verb, twiml.Gather) and verb.children for verb in twiml.parse(body)
            ):
                raise RuntimeError(f"no <Gather> with a <Say>: {body[:300]}")
        except (requests.RequestException, RuntimeError, twiml.TwimlError) as exc:
            return _failed(self.name, phase, utterance, exc)
        return Turn(self.name, phase, utterance, ms, outcome="twiml", sid=conversation.sid)


@dataclass
class Callers:
    """New conversations: fresh CallSids and caller numbers (never a demo customer's, so no
    account is matched from the number), and the call facts the app would send."""

    language: str
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new(self, people_ahead: int) -> Conversation:
        number = f"+1202{next(self.numbers):07d}"
        facts = {
            "language": self.language,
            "people_ahead": people_ahead,
            # No call has finished in this run, so the app has no estimate to give.
            "wait_seconds": None,
            "wait_minutes": None,
            "verified": False,
            "caller_known": True,
            "account_hint": None,
        }
        return Conversation(sid=new_call_sid(), caller=number, facts=facts)
