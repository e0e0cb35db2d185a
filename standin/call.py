"""Twilio's side of a call: signed webhook requests and a TwiML interpreter.

`SimulatedTwilio.dial()` places a call at the app's `/voice/incoming` and runs the TwiML it
gets back until the call parks: a <Gather> listens, a <Dial> rings or bridges, a Play or
Pause plays (real-time mode), or the call ends. The test, a person, a timer or the REST API
then moves it on.

Calls run as on Twilio, asynchronously: a REST redirect can arrive at any moment from another
thread. Each call has one lock and at most one thread running its TwiML at a time (the thread
that "claimed" it). A redirect that finds the call parked abandons what it was doing (the
Gather, the music, the ringing or the bridge) and fetches the new URL; one that arrives while
a webhook request is in flight waits for that request to return, and that request's TwiML is
dropped, as Twilio does.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from twilio.request_validator import RequestValidator

from standin import twiml
from standin.phones import ANSWERED, Phones
from standin.timing import Background, Timer, Timing
from standin.transport import FlaskClientTransport, HttpTransport, Transport

__all__ = [
    "MAX_STEPS_WITHOUT_INPUT",
    "AppError",
    "CallNotLive",
    "Event",
    "FlaskClientTransport",
    "HttpTransport",
    "LineState",
    "SimulatedCall",
    "SimulatedTwilio",
    "SimulatorError",
    "Transport",
    "new_call_sid",
]

log = logging.getLogger(__name__)

# Redirects followed without the caller doing anything, before the simulator calls it a loop.
MAX_STEPS_WITHOUT_INPUT = 25
API_VERSION = "2010-04-01"
# Ended calls kept for the REST API and the control API before the oldest are forgotten.
MAX_ENDED_CALLS = 5000


class SimulatorError(RuntimeError):
    """The app answered something Twilio would not accept (an error status, bad TwiML), or
    the caller tried something the line does not allow right now."""


class AppError(SimulatorError):
    """The app answered what Twilio would not accept; Twilio has ended the call."""


class CallNotLive(SimulatorError):
    """A REST update of a call that has ended (Twilio's error 21220)."""


class LineState(StrEnum):
    """What the line is doing right now."""

    queued = "queued"  # an outbound call whose phone has not answered yet
    fetching = "fetching"  # Twilio is busy: a webhook request in flight, TwiML being run
    listening = "listening"  # parked at a <Gather>
    playing = "playing"  # real time: a Say, Play or Pause outside a Gather is playing
    ringing = "ringing"  # a <Dial> rings the other party (or its whisper runs there)
    bridged = "bridged"  # talking to the other party of a <Dial>
    ended = "ended"


ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class Event:
    """Something that happened on a call, in order (`seq` counts from 1 per call)."""

    seq: int
    at: float
    kind: str
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "text": self.text} | dict(
            self.data
        )


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def rfc2822(timestamp: float) -> str:
    """Twilio's date format: `Tue, 10 Aug 2010 08:02:31 +0000`."""
    return format_datetime(datetime.fromtimestamp(timestamp, UTC))


# -- work a call's thread does, one item at a time ----------------------------------------


@dataclass(frozen=True)
class _Fetch:
    """Request a URL and run the TwiML it returns (or only request it: `ignore_twiml`)."""

    url: str
    method: str = "POST"
    extra: Mapping[str, str] = field(default_factory=dict)
    status: str | None = None  # CallStatus to send; None: the call's own status
    ignore_twiml: bool = False


@dataclass(frozen=True)
class _Resume:
    """Carry on with the rest of a document."""

    verbs: tuple[twiml.Verb, ...]


@dataclass(frozen=True)
class _RingDone:
    """The phone a <Dial> rang answered, or did not."""


@dataclass(frozen=True)
class _Answered:
    """An outbound call's phone answered, or did not."""

    outcome: str


@dataclass(frozen=True)
class _BridgeParent:
    """A dialled party's whisper is over: connect them to the caller."""


@dataclass(frozen=True)
class _EndLeg:
    """End another leg (the agent's, when the caller goes)."""

    leg: SimulatedCall
    status: str
    reason: str


@dataclass(frozen=True)
class _Progress:
    """A call-progress status callback (initiated, ringing, answered)."""

    event: str


@dataclass(frozen=True)
class _Finish:
    """The call has ended: its status callback, then let the other leg know."""


_Item = _Fetch | _Resume | _RingDone | _Answered | _BridgeParent | _EndLeg | _Progress | _Finish


@dataclass
class _DialState:
    verb: twiml.Dial
    rest: tuple[twiml.Verb, ...]
    outcome: str = ""
    child: SimulatedCall | None = None
    bridged: bool = False


@dataclass(frozen=True)
class _StatusCallback:
    url: str
    method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})


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

    # -- signed requests --------------------------------------------------------------

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

    # -- calls ------------------------------------------------------------------------

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
    ) -> SimulatedCall:
        """An outbound call (Twilio's `POST Calls.json`): returns at once with the call
        queued; its phone rings in the background (per `phones`), and when it answers the
        call requests `url` (or runs `document`, TwiML)."""
        if (url is None) == (document is None):
            raise ValueError("give exactly one of url and document")
        first: _Item = (
            _Fetch(url, method) if url is not None else _Resume(tuple(twiml.parse(document or "")))
        )
        callback = (
            _StatusCallback(
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
        call._place(first, timeout)
        return call

    def call(self, sid: str) -> SimulatedCall | None:
        with self._calls_lock:
            return self._calls.get(sid)

    def calls(self) -> list[SimulatedCall]:
        with self._calls_lock:
            return list(self._calls.values())

    def _register(self, call: SimulatedCall) -> None:
        with self._calls_lock:
            self._calls[call.sid] = call
            if len(self._calls) > 2 * MAX_ENDED_CALLS:
                ended = [sid for sid, c in self._calls.items() if c.ended]
                for sid in ended[: len(ended) - MAX_ENDED_CALLS]:
                    del self._calls[sid]


def _path(absolute: str) -> str:
    parts = urlsplit(absolute)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class SimulatedCall:
    """One leg of a call as Twilio runs it: the caller's (inbound), an outbound call placed
    through the REST API, or the leg a <Dial> opens to an agent (outbound-dial)."""

    def __init__(
        self,
        twilio: SimulatedTwilio,
        sid: str,
        from_: str,
        to: str,
        *,
        direction: str = "inbound",
        parent: SimulatedCall | None = None,
        noun: twiml.DialNoun | None = None,
        status_callback: _StatusCallback | None = None,
        url: str | None = None,
    ) -> None:
        self.twilio = twilio
        self.sid = sid
        self.from_ = from_
        self.to = to
        self.direction = direction
        self.parent = parent
        self.noun = noun
        self.heard: list[str] = []
        self.played: list[str] = []
        self.events: list[Event] = []
        # The agent legs this call's <Dial>s opened, oldest first.
        self.legs: list[SimulatedCall] = []
        self.status = "ringing" if direction == "inbound" else "queued"
        self.state = LineState.fetching if direction == "inbound" else LineState.queued
        self.created_at = twilio.clock()
        self.updated_at = self.created_at
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.ended_reason = ""
        self.error: str | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ended = False
        self._active = False  # a thread is running this call's TwiML
        self._pending: _Item | None = None  # a redirect waiting for that thread
        self._generation = 0  # bumped whenever the call leaves a park
        self._timers: list[Timer] = []
        self._gather: twiml.Gather | None = None
        self._digits = ""  # keys pressed so far at the open Gather (real time)
        self._rest: tuple[twiml.Verb, ...] = ()  # the document after the parked verb
        self._dial: _DialState | None = None
        self._url = url or twilio.incoming_url
        self._fetches = 0
        self._status_sent = False
        self._sequence = 0
        self._answer: _Item | None = None  # what an outbound call does when answered
        self._ring_outcome = ""
        self._status_callback = status_callback
        if direction == "inbound":
            self._status_callback = _StatusCallback(twilio.status_callback_url)
        elif noun is not None and noun.status_callback:
            self._status_callback = _StatusCallback(
                noun.status_callback, noun.status_callback_method, noun.status_callback_event
            )
        phone = twilio.phones.get(to) if direction != "inbound" else None
        self._auto_keys = phone.press if phone is not None else None
        twilio._register(self)

    def __repr__(self) -> str:
        return f"<SimulatedCall {self.sid} {self.direction} {self.from_}->{self.to} {self.state}>"

    # -- what is known about the call -------------------------------------------------

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def busy(self) -> bool:
        """A thread is running this call's TwiML (a webhook may be in flight)."""
        return self._active

    @property
    def gather(self) -> twiml.Gather | None:
        """The <Gather> listening right now, if any."""
        with self._lock:
            if self._active or self.state is not LineState.listening:
                return None
            return self._gather

    @property
    def agent(self) -> SimulatedCall | None:
        """The leg the latest <Dial> opened (the agent's), if any."""
        return self.legs[-1] if self.legs else None

    @property
    def with_agent(self) -> str | None:
        """The address of the party this call is bridged to (`client:alice`), if any."""
        with self._lock:
            dial = self._dial
            return dial.child.to if dial and dial.bridged and dial.child else None

    @property
    def duration(self) -> int:
        if self.start_time is None:
            return 0
        return int((self.end_time or self.twilio.clock()) - self.start_time)

    def base_params(self, status: str = "in-progress") -> dict[str, str]:
        params = {
            "CallSid": self.sid,
            "AccountSid": self.twilio.account_sid,
            "From": self.from_,
            "To": self.to,
            "CallStatus": status,
            "Direction": self.direction,
            "ApiVersion": API_VERSION,
        }
        if self.parent is not None:
            params["ParentCallSid"] = self.parent.sid
        return params

    def heard_since(self, mark: int) -> str:
        return " ".join(self.heard[mark:])

    def events_since(self, seq: int) -> list[Event]:
        with self._lock:
            return self.events[seq:]

    def wait_for(self, predicate: Callable[[SimulatedCall], bool], timeout: float) -> bool:
        """Block until `predicate(call)` holds (checked after every change) or `timeout`
        seconds pass; True if it holds."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def wait_settled(self, timeout: float) -> bool:
        """Wait until no webhook request is in flight for this call."""
        return self.wait_for(lambda c: not c._active, timeout)

    # -- what the caller does ---------------------------------------------------------

    def press(self, digits: str) -> SimulatedCall:
        """Press keys at the open <Gather>. Its numDigits and finishOnKey end the input as on
        a phone (the finishing key is not sent; keys after the end are lost). Input that
        neither ends is sent when the Gather's timeout passes: at once in step mode."""
        with self._lock:
            gather = self._expect_gather("dtmf")
            items = self._keys_locked(gather, digits)  # claims the call when input ends
            if items is None:
                return self
        self._drive_and_raise(items)
        return self

    def say(self, text: str, confidence: float = 0.92) -> SimulatedCall:
        with self._lock:
            gather = self._expect_gather("speech")
            self._claim_locked()
            items = self._gather_result_locked(
                gather, {"SpeechResult": text, "Confidence": f"{confidence:.2f}"}
            )
        self._drive_and_raise(items)
        return self

    def stay_silent(self) -> SimulatedCall:
        """Let the Gather time out: Twilio falls through to the next verb (or posts the
        action with nothing when actionOnEmptyResult is set)."""
        with self._lock:
            gather = self._expect_gather(None)
            self._claim_locked()
            items = self._gather_timeout_locked(gather)
        self._drive_and_raise(items)
        return self

    def hang_up(self, status: str = "completed", *, reason: str = "") -> tuple[int, str]:
        """The line ends from this side (the caller hung up, the line dropped, the agent put
        the phone down): a <Dial> in progress requests its action (TwiML ignored), then the
        status callback is sent once. Returns the status callback's (status, body)."""
        who = reason or ("the agent hung up" if self.parent is not None else "the caller hung up")
        with self._lock:
            if self._ended:
                raise SimulatorError(f"the call has already ended ({self.ended_reason})")
            items = self._end_now_locked(status, who)
        self._side_effects(items)
        answer = self._send_status_callback()
        self._tell_parent()
        return answer

    def drop(self) -> tuple[int, str]:
        """The line drops (a bad signal, a flat battery): to Twilio, a hang-up."""
        return self.hang_up(reason="the line dropped")

    def agent_hang_up(self) -> tuple[int, str]:
        """The agent this call is connected (or being connected) to hangs up."""
        with self._lock:
            child = self._dial.child if self._dial else None
        if child is None or child.ended:
            raise SimulatorError("no agent is on this call")
        return child.hang_up()

    # -- what Twilio does -------------------------------------------------------------

    def request(
        self,
        url: str,
        status: str = "in-progress",
        extra: Mapping[str, str] = (),
        steps: int = 0,
    ) -> None:
        """Request `url` for this call now and run the TwiML it returns, in this thread.
        Raises SimulatorError when the app answers something Twilio would not accept."""
        with self._lock:
            if self._active:
                raise SimulatorError("the call is busy with another request")
            self._claim_locked()
            self._fetches = steps
        self._drive_and_raise([_Fetch(url, "POST", dict(extra), status)])

    def redirect(
        self, url: str | None = None, method: str = "POST", document: str | None = None
    ) -> None:
        """Twilio's REST update with `Url` (or `Twiml`): the call leaves whatever it was doing
        and runs the new TwiML, in a background thread. Raises CallNotLive if it has ended,
        TwimlError for a bad document."""
        item: _Item = (
            _Fetch(url, method.upper())
            if document is None
            else _Resume(tuple(twiml.parse(document)))
        )
        with self._lock:
            if self._ended:
                raise CallNotLive("Call is not in-progress. Cannot redirect.")
            self._event("redirected", url or "(TwiML)")
            if self.state is LineState.queued:
                self._answer = item  # not answered yet: it will run this when it is
                return
            if self._active:
                self._pending = item  # applied when the request in flight returns
                return
            items = self._abandon_locked()
            self._claim_locked()

        def run() -> None:
            # An agent's leg redirected out of the bridge ends the caller's <Dial>.
            self._tell_parent()
            self._drive([*items, item])

        self.twilio.background.submit(run)

    def complete(self, status: str = "completed") -> bool:
        """Twilio's REST update with `Status`: `completed` ends the call whatever it is
        doing; `canceled` ends it only if it has not been answered. The status callback and
        the rest follow in a background thread. False when nothing changed."""
        with self._lock:
            if self._ended:
                return False
            if status == "canceled" and self.state is not LineState.queued:
                return False
            final = "canceled" if self.state is LineState.queued else "completed"
            items = self._end_now_locked(final, "ended through the REST API")

        def finish() -> None:
            self._side_effects(items)
            self._send_status_callback()
            self._tell_parent()

        self.twilio.background.submit(finish)
        return True

    # -- the engine -------------------------------------------------------------------

    def _claim_locked(self) -> None:
        """This thread now runs the call: leave the park (timers off, Gather closed)."""
        self._active = True
        self._generation += 1
        self._cancel_timers_locked()
        self._gather = None
        self._fetches = 0
        if not self._ended:
            self.state = LineState.fetching
        self._changed.notify_all()

    def _release_locked(self) -> list[_Item] | None:
        """The running thread is done (the call parked or ended). A redirect that arrived
        meanwhile takes over (returned as work); otherwise the call is let go."""
        if self._pending is not None and not self._ended:
            item, self._pending = self._pending, None
            items = self._abandon_locked()
            self._claim_locked()
            return [*items, item]
        self._pending = None
        self._active = False
        self._changed.notify_all()
        return None

    def _drive_and_raise(self, items: list[_Item]) -> None:
        self.error = None
        error = self._drive(items)
        if error:
            raise AppError(error)

    def _drive(self, items: list[_Item]) -> str | None:
        """Run work on this call (already claimed) until it parks or ends. Returns the
        error this call met, if any (the call has then ended, as Twilio ends it)."""
        todo = deque(items)
        while todo:
            more = self._step(todo.popleft())
            if more is None:
                return self.error  # parked or ended: let go
            todo.extendleft(reversed(more))
        with self._lock:
            if not self._active:
                return self.error
            if self._ended:
                self._release_locked()
                return self.error
            # Nothing left to do but the call did not park: a bug, not the app's.
            leftover = self._fail_locked("the stand-in lost track of the call")
        self._drive(leftover)
        return self.error

    def _step(self, item: _Item) -> list[_Item] | None:
        """One piece of work; the next pieces, or None once the call is let go."""
        match item:
            case _Fetch():
                return self._fetch(item)
            case _Resume(verbs=verbs):
                with self._lock:
                    if self._ended:
                        return self._release_locked()
                    return self._run_locked(verbs)
            case _RingDone():
                return self._ring_done()
            case _Answered(outcome=outcome):
                return self._answered(outcome)
            case _BridgeParent():
                return self._bridge_parent()
            case _EndLeg(leg=leg, status=status, reason=reason):
                leg._ended_by_peer(status, reason)
                return []
            case _Progress(event=event):
                self._progress_callback(event)
                return []
            case _Finish():
                self._send_status_callback()
                with self._lock:
                    self._pending = None
                    self._release_locked()
                self._tell_parent()
                return None
        raise AssertionError(item)

    def _fetch(self, item: _Fetch) -> list[_Item] | None:
        with self._lock:
            if self._ended and not item.ignore_twiml:
                return self._release_locked()
            url = urljoin(self._url, item.url) if item.url else self._url
            if not item.ignore_twiml:
                self._fetches += 1
                if self._fetches > MAX_STEPS_WITHOUT_INPUT + 1:
                    return self._fail_locked(
                        f"more than {MAX_STEPS_WITHOUT_INPUT} redirects without input"
                    )
                self._url = url
                self.state = LineState.fetching
                self._changed.notify_all()
            params = self.base_params(item.status or self._webhook_status()) | dict(item.extra)
        try:
            code, body = self.twilio.request(item.method, url, params)
        except requests.RequestException as exc:
            code, body = 0, f"{type(exc).__name__}: {exc}"
        with self._lock:
            if item.ignore_twiml:
                return []
            if self._pending is not None and not self._ended:
                self._event("dropped", f"TwiML from {url} (the call was redirected meanwhile)")
                return self._release_locked()
            if self._ended:
                return self._release_locked()
            if code != 200:
                return self._fail_locked(f"{url} answered {code or 'nothing'}: {body[:500]}")
            try:
                verbs = twiml.parse(body)
            except twiml.TwimlError as exc:
                return self._fail_locked(f"{url}: {exc}")
            if self.status in {"ringing", "queued"}:
                self._answered_locked()
            return self._run_locked(tuple(verbs))

    def _webhook_status(self) -> str:
        return "in-progress" if self.status not in ENDED_STATUSES else "completed"

    def _run_locked(self, verbs: tuple[twiml.Verb, ...]) -> list[_Item] | None:
        for index, verb in enumerate(verbs):
            rest = verbs[index + 1 :]
            match verb:
                case twiml.Say() | twiml.Play() | twiml.Pause():
                    self._hear_locked(verb)
                    seconds = self.twilio.timing.verb_seconds(verb)
                    if seconds is None or seconds > 0:
                        return self._park_locked(LineState.playing, rest, seconds)
                case twiml.Gather():
                    return self._park_gather_locked(verb, rest)
                case twiml.Redirect(url=url, method=method):
                    return [_Fetch(url, method)]
                case twiml.Hangup():
                    return self._end_locked("completed", "the app hung up")
                case twiml.Dial():
                    return self._dial_locked(verb, rest)
        if self.parent is not None and self._dial_leg_waiting():
            return [_BridgeParent()]
        return self._end_locked("completed", "the app's TwiML ran out")

    def _park_locked(
        self,
        state: LineState,
        rest: tuple[twiml.Verb, ...],
        seconds: float | None,
        gather: twiml.Gather | None = None,
    ) -> list[_Item] | None:
        self.state = state
        self._rest = rest
        self._gather = gather
        taken_over = self._release_locked()
        if taken_over is not None:
            return taken_over
        if seconds is not None and self.twilio.timing.realtime:
            self._schedule_locked(seconds, self._on_timer)
        return None

    def _schedule_locked(self, seconds: float, then: Callable[[int], None]) -> None:
        generation = self._generation
        delay = self.twilio.timing.real(seconds)
        self._timers.append(self.twilio.background.call_later(delay, lambda: then(generation)))

    def _cancel_timers_locked(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _on_timer(self, generation: int) -> None:
        """A park's time is up: the music ended, the Gather timed out, the phone answered."""
        with self._lock:
            if generation != self._generation or self._active or self._ended:
                return
            state, gather = self.state, self._gather
            self._claim_locked()
            match state:
                case LineState.playing:
                    items: list[_Item] = [_Resume(self._rest)]
                case LineState.listening if gather is not None:
                    items = self._gather_timeout_locked(gather)
                case LineState.ringing:
                    items = [_RingDone()]
                case LineState.queued:
                    items = [_Answered(self._ring_outcome)]
                case _:
                    items = self._release_locked() or []
        self._drive(items)

    # -- Gather ------------------------------------------------------------------------

    def _park_gather_locked(
        self, gather: twiml.Gather, rest: tuple[twiml.Verb, ...]
    ) -> list[_Item] | None:
        self._digits = ""
        for child in gather.children:
            self._hear_locked(child)
        self._event("listening", " ".join(sorted(gather.input)))
        timing = self.twilio.timing
        keys = self._auto_keys if "dtmf" in gather.input else None
        if keys and not timing.realtime:
            # The dialled phone presses its keys as soon as it is asked.
            self._rest = rest
            return self._keys_locked(gather, keys) or self._gather_timeout_locked(gather)
        parked = self._park_locked(LineState.listening, rest, timing.gather_seconds(gather), gather)
        if parked is None and keys:
            prompt = sum(timing.verb_seconds(child) or 0.0 for child in gather.children)
            self._schedule_locked(prompt, lambda generation: self._auto_press(generation, keys))
        return parked

    def _auto_press(self, generation: int, keys: str) -> None:
        with self._lock:
            if generation != self._generation or self._active or self._gather is None:
                return
            items = self._keys_locked(self._gather, keys)
            if items is None:
                return
            self._claim_locked()
        self._drive(items)

    def _expect_gather(self, kind: str | None) -> twiml.Gather:
        if self._ended:
            raise SimulatorError("the call has ended")
        gather = self.gather
        if gather is None:
            raise SimulatorError(
                f"the caller is not being asked for input (the line is {self._describe_state()})"
            )
        if kind is not None and kind not in gather.input:
            listens = " ".join(sorted(gather.input))
            raise SimulatorError(f"the prompt does not listen for {kind} ({listens})")
        return gather

    def _describe_state(self) -> str:
        if self.with_agent:
            return f"with {self.with_agent}"
        return {
            LineState.fetching: "waiting for the app",
            LineState.playing: "playing",
            LineState.ringing: "ringing an agent",
            LineState.queued: "not answered yet",
            LineState.ended: "ended",
        }.get(self.state, str(self.state))

    def _keys_locked(self, gather: twiml.Gather, keys: str) -> list[_Item] | None:
        """Keys pressed at `gather`: the Gather's result as work, or None while it still
        waits for more (real time; its timeout is restarted)."""
        buffer, finished, lost = self._digits, False, ""
        for index, key in enumerate(keys):
            if gather.finish_on_key and key == gather.finish_on_key:
                finished, lost = True, keys[index + 1 :]
                break
            buffer += key
            if gather.num_digits is not None and len(buffer) >= gather.num_digits:
                finished, lost = True, keys[index + 1 :]
                break
        if lost and lost != gather.finish_on_key:  # a habitual # after the last digit
            self._event("keys_lost", lost)
        if not finished and self.twilio.timing.realtime:
            self._digits = buffer
            self._cancel_timers_locked()
            self._schedule_locked(gather.timeout, self._on_timer)
            return None
        self._digits = ""
        if not self._active:
            self._claim_locked()
        return self._gather_result_locked(gather, {"Digits": buffer} if buffer else None)

    def _gather_timeout_locked(self, gather: twiml.Gather) -> list[_Item]:
        """Nobody said or pressed anything more: send what was keyed, or fall through."""
        digits, self._digits = self._digits, ""
        return self._gather_result_locked(gather, {"Digits": digits} if digits else None)

    def _gather_result_locked(
        self, gather: twiml.Gather, result: Mapping[str, str] | None
    ) -> list[_Item]:
        if result is None and not gather.action_on_empty_result:
            return [_Resume(self._rest)]
        return [_Fetch(gather.action or self._url, gather.method, dict(result or {}))]

    # -- Dial ------------------------------------------------------------------------

    def _dial_locked(self, verb: twiml.Dial, rest: tuple[twiml.Verb, ...]) -> list[_Item] | None:
        address = verb.noun.address
        outcome, seconds = self.twilio.phones.get(address).ring(verb.timeout)
        self._dial = _DialState(verb, rest, outcome)
        self._event("dialing", address, to=address)
        if self.twilio.timing.realtime and seconds > 0:
            return self._park_locked(LineState.ringing, (), seconds)
        self.state = LineState.ringing
        return [_RingDone()]

    def _ring_done(self) -> list[_Item] | None:
        with self._lock:
            dial = self._dial
            if self._ended or dial is None:
                return self._release_locked()
            address = dial.verb.noun.address
            if dial.outcome != ANSWERED:
                self._dial = None
                self._event("dial_ended", f"{address}: {dial.outcome}", status=dial.outcome)
                return self._dial_over_locked(dial, dial.outcome, bridged=False)
            child = SimulatedCall(
                twilio=self.twilio,
                sid=new_call_sid(),
                from_=dial.verb.caller_id or self.from_,
                to=address,
                direction="outbound-dial",
                parent=self,
                noun=dial.verb.noun,
                url=self._url,
            )
            dial.child = child
            self.legs.append(child)
            self._event("agent_answered", address, to=address, agent_sid=child.sid)
            self.state = LineState.ringing  # the caller hears ringing during the whisper
            taken_over = self._release_locked()
        if taken_over is not None:
            return taken_over
        child._start_dial_leg()
        return None

    def _start_dial_leg(self) -> None:
        """The dialled phone answered: its whisper (the noun's url) runs on this leg, then
        the legs are bridged."""
        with self._lock:
            self._claim_locked()
            self._answered_locked()
            noun = self.noun
            assert noun is not None
            first: _Item = _Fetch(noun.url, noun.method) if noun.url else _BridgeParent()
        self._drive([_Progress("answered"), first])

    def _dial_leg_waiting(self) -> bool:
        parent = self.parent
        if parent is None:
            return False
        with parent._lock:
            dial = parent._dial
            return dial is not None and dial.child is self and not dial.bridged

    def _bridge_parent(self) -> list[_Item] | None:
        parent = self.parent
        assert parent is not None
        bridged = parent._bridge(self)
        with self._lock:
            if self._ended:
                return self._release_locked()
            if not bridged:
                return self._end_locked("completed", "the caller had gone")
            return self._park_locked(LineState.bridged, (), None)

    def _bridge(self, child: SimulatedCall) -> bool:
        with self._lock:
            dial = self._dial
            if self._ended or self._active or dial is None or dial.child is not child:
                return False
            dial.bridged = True
            self.state = LineState.bridged
            self._event("bridged", child.to, to=child.to, agent_sid=child.sid)
            return True

    def _tell_parent(self) -> None:
        """This dialled leg has ended by itself (the agent hung up, the whisper hung up):
        the caller's <Dial> is over."""
        parent = self.parent
        if parent is None:
            return
        with parent._lock:
            dial = parent._dial
            if parent._ended or parent._active or dial is None or dial.child is not self:
                return
            parent._dial = None
            if dial.bridged:
                status, bridged = "completed", True
                parent._event("agent_hung_up", self.to, to=self.to)
            else:
                status, bridged = "no-answer", False
                parent._event("dial_ended", f"{self.to}: hung up before the bridge", status=status)
            parent._claim_locked()
            items = parent._dial_over_locked(dial, status, bridged)
        parent._drive(items)

    def _dial_params(self, dial: _DialState, status: str, bridged: bool) -> dict[str, str]:
        params = {"DialCallStatus": status, "DialBridged": "true" if bridged else "false"}
        if dial.child is not None:
            params |= {
                "DialCallSid": dial.child.sid,
                "DialCallDuration": str(dial.child.duration),
            }
        return params

    def _dial_over_locked(self, dial: _DialState, status: str, bridged: bool) -> list[_Item]:
        """The <Dial> ended with the caller still on the line: its action, or the verbs
        after it."""
        if dial.verb.action:
            params = self._dial_params(dial, status, bridged)
            return [_Fetch(dial.verb.action, dial.verb.method, params)]
        return [_Resume(dial.rest)]

    # -- leaving a park, ending -----------------------------------------------------------

    def _abandon_locked(self) -> list[_Item]:
        """Leave the park for something else (a redirect, a hang-up). A <Dial> in progress
        ends: the other leg is hung up and the Dial's action is requested, its TwiML
        ignored (what Twilio does when a bridged call is redirected)."""
        self._cancel_timers_locked()
        self._gather = None
        self._digits = ""
        dial, self._dial = self._dial, None
        if dial is None:
            return []
        items: list[_Item] = []
        # DialCallStatus follows the agent's leg: completed once it answered (bridged or
        # still hearing the whisper), canceled while it was only ringing.
        answered = dial.child is not None and dial.child.start_time is not None
        status = "completed" if answered else "canceled"
        bridged = dial.bridged
        if dial.child is not None:
            items.append(_EndLeg(dial.child, status, "the caller's side left the call"))
        self._event("dial_ended", f"{dial.verb.noun.address}: {status}", status=status)
        if dial.verb.action:
            params = self._dial_params(dial, status, bridged)
            items.append(_Fetch(dial.verb.action, dial.verb.method, params, ignore_twiml=True))
        return items

    def _end_now_locked(self, status: str, reason: str) -> list[_Item]:
        items = self._abandon_locked()
        self._mark_ended_locked(status, reason)
        return [
            _Fetch(i.url, i.method, i.extra, status, ignore_twiml=True)
            if isinstance(i, _Fetch)
            else i
            for i in items
        ]

    def _end_locked(self, status: str, reason: str) -> list[_Item]:
        """End the call from the running thread; the status callback follows."""
        self._mark_ended_locked(status, reason)
        return [_Finish()]

    def _fail_locked(self, message: str) -> list[_Item]:
        """The app answered what Twilio cannot play: Twilio apologises and hangs up."""
        self.error = self.error or message
        self._event("error", message)
        return self._end_locked("completed", f"application error: {message}")

    def _mark_ended_locked(self, status: str, reason: str) -> None:
        self._ended = True
        self._cancel_timers_locked()
        self._gather = None
        self._generation += 1
        self.status = status
        self.state = LineState.ended
        self.ended_reason = reason
        self.end_time = self.twilio.clock()
        self._event("ended", reason, status=status)

    def _ended_by_peer(self, status: str, reason: str) -> None:
        """The other leg ended this one (the caller hung up on the agent)."""
        with self._lock:
            if self._ended:
                return
            self._end_now_locked(status, reason)
        self._send_status_callback()

    def _side_effects(self, items: list[_Item]) -> None:
        """Work left by ending a call that runs in the ending thread (no TwiML runs)."""
        for item in items:
            if isinstance(item, _EndLeg):
                item.leg._ended_by_peer(item.status, item.reason)
            elif isinstance(item, _Fetch):
                params = self.base_params(item.status or self.status) | dict(item.extra)
                try:
                    self.twilio.request(item.method, urljoin(self._url, item.url), params)
                except requests.RequestException as exc:
                    self._event("error", f"{item.url}: {exc}")

    # -- outbound calls ---------------------------------------------------------------

    def _place(self, first: _Item, timeout: int) -> None:
        outcome, seconds = self.twilio.phones.get(self.to).ring(timeout)
        with self._lock:
            self._answer = first
            self._ring_outcome = outcome
            self._active = True
            self._event("dialing", self.to, to=self.to)

        def ring() -> None:
            self._progress_callback("initiated")
            with self._lock:
                if self._ended:
                    self._release_locked()
                    return
                self.status = "ringing"
            self._progress_callback("ringing")
            with self._lock:
                if self._ended:
                    self._release_locked()
                    return
                if self.twilio.timing.realtime and seconds > 0:
                    self._park_locked(LineState.queued, (), seconds)
                    return
            self._drive([_Answered(outcome)])

        self.twilio.background.submit(ring)

    def _answered(self, outcome: str) -> list[_Item] | None:
        with self._lock:
            if self._ended:
                return self._release_locked()
            if outcome != ANSWERED:
                self.status = outcome
                return self._end_locked(outcome, f"{self.to}: {outcome}")
            self._answered_locked()
            first = self._answer
            assert first is not None
        return [_Progress("answered"), first]

    def _answered_locked(self) -> None:
        self.status = "in-progress"
        self.start_time = self.twilio.clock()
        self._event("answered", self.to)

    # -- status callbacks ------------------------------------------------------------------

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
        status = {"initiated": "queued", "ringing": "ringing", "answered": "in-progress"}[event]
        with self._lock:
            params = self._callback_params(status)
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

    def _post_callback(self, callback: _StatusCallback, params: dict[str, str]) -> tuple[int, str]:
        try:
            return self.twilio.request(callback.method, callback.url, params)
        except requests.RequestException as exc:
            with self._lock:
                self._event("error", f"status callback {callback.url}: {exc}")
            return 0, str(exc)

    # -- what was heard ------------------------------------------------------------------

    def _hear_locked(self, verb: twiml.Say | twiml.Play | twiml.Pause) -> None:
        if isinstance(verb, twiml.Say):
            self.heard.append(verb.text)
            self._event("heard", verb.text)
            if self.parent is not None:
                self.parent._mirror("agent_heard", verb.text, to=self.to)
        elif isinstance(verb, twiml.Play):
            self.played.append(verb.url)
            self._event("played", verb.url)

    def _mirror(self, kind: str, text: str, **data: Any) -> None:
        with self._lock:
            self._event(kind, text, **data)

    def _event(self, kind: str, text: str = "", **data: Any) -> None:
        now = self.twilio.clock()
        self.updated_at = now
        self.events.append(Event(len(self.events) + 1, now, kind, text, data))
        self._changed.notify_all()
