"""One leg of a call as Twilio runs it: the caller's (inbound), an outbound call placed
through the REST API, or the leg a <Dial> opens to an agent (outbound-dial). The leg
requests its webhooks, runs the TwiML it gets back until the call parks (a <Gather> listens,
a <Dial> rings or bridges, a Play or Pause plays in real time) or ends, and is moved on from
there by the caller, a timer or the REST API.

Calls run as on Twilio, asynchronously: a REST redirect can arrive at any moment from another
thread. Each leg has one lock and at most one thread running its TwiML at a time (the thread
that "claimed" it). A redirect that finds the call parked abandons what it was doing (the
Gather, the music, the ringing or the bridge) and fetches the new URL; one that arrives while
a webhook request is in flight waits for that request to return, and that request's TwiML is
dropped, as Twilio does.

The rest of a leg's jobs live beside it: the <Gather> (`gather.py`), both sides of a <Dial>
(`dial.py`, the only way two legs talk to each other), outbound ringing (`outbound.py`) and
status callbacks (`callbacks.py`). What they use of the leg is declared by `Leg` (`engine.py`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests

from standin import twiml
from standin.callbacks import StatusCallback, StatusCallbacks
from standin.dial import DialledLeg, DiallerLeg, DialState
from standin.gather import GatherLeg
from standin.line import (
    API_VERSION,
    ENDED_STATUSES,
    AppError,
    CallNotLive,
    Event,
    LineState,
    SimulatorError,
)
from standin.outbound import OutboundLeg
from standin.timing import Timer
from standin.work import (
    Answered,
    BridgeParent,
    EndLeg,
    Fetch,
    Finish,
    Item,
    Progress,
    Resume,
    RingDone,
)

if TYPE_CHECKING:
    from standin.account import SimulatedTwilio

# Redirects followed without the caller doing anything, before the stand-in calls it a loop.
MAX_STEPS_WITHOUT_INPUT = 25


class SimulatedCall(GatherLeg, DiallerLeg, DialledLeg, OutboundLeg, StatusCallbacks):
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
        status_callback: StatusCallback | None = None,
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
        self.played: list[str] = []  # music and other recordings that are not sentences
        self.clips: list[str] = []  # the clips of sentences played from recordings
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
        self._pending: Item | None = None  # a redirect waiting for that thread
        self._generation = 0  # bumped whenever the call leaves a park
        self._timers: list[Timer] = []
        self._gather: twiml.Gather | None = None
        self._digits = ""  # keys pressed so far at the open Gather (real time)
        self._rest: tuple[twiml.Verb, ...] = ()  # the document after the parked verb
        self._dial: DialState | None = None
        self._url = url or twilio.incoming_url
        self._fetches = 0
        self._status_sent = False
        self._sequence = 0
        self._answer: Item | None = None  # what an outbound call does when answered
        self._ring_outcome = ""
        self._ring_seconds = 0.0
        self._status_callback = _status_callback_for(twilio, direction, noun, status_callback)
        phone = twilio.phones.get(to) if direction != "inbound" else None
        self._auto_keys = phone.press if phone is not None else None
        twilio.register(self)

    def __repr__(self) -> str:
        return f"<SimulatedCall {self.sid} {self.direction} {self.from_}->{self.to} {self.state}>"

    # -- what is known about the call ------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def busy(self) -> bool:
        """A thread is running this call's TwiML (a webhook may be in flight)."""
        return self._active

    @property
    def answered(self) -> bool:
        """The phone has answered (the call has a start time)."""
        return self.start_time is not None

    @property
    def gather(self) -> twiml.Gather | None:
        """The <Gather> listening right now, if any."""
        with self._lock:
            if self._active or self.state is not LineState.listening:
                return None
            return self._gather

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

    # -- what the caller does --------------------------------------------------------------

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
        self._tell_caller_left()
        return answer

    def drop(self) -> tuple[int, str]:
        """The line drops (a bad signal, a flat battery): to Twilio, a hang-up."""
        return self.hang_up(reason="the line dropped")

    # -- what Twilio does ------------------------------------------------------------------

    def request(
        self,
        url: str,
        status: str = "in-progress",
        extra: Mapping[str, str] | None = None,
        steps: int = 0,
    ) -> None:
        """Request `url` for this call now and run the TwiML it returns, in this thread.
        Raises SimulatorError when the app answers something Twilio would not accept."""
        with self._lock:
            if self._active:
                raise SimulatorError("the call is busy with another request")
            self._claim_locked()
            self._fetches = steps
        self._drive_and_raise([Fetch(url, "POST", dict(extra or {}), status)])

    def redirect(
        self, url: str | None = None, method: str = "POST", document: str | None = None
    ) -> None:
        """Twilio's REST update with `Url` (or `Twiml`): the call leaves whatever it was doing
        and runs the new TwiML, in a background thread. Raises CallNotLive if it has ended,
        TwimlError for a bad document, ValueError when given neither."""
        if document is not None:
            item: Item = Resume(tuple(twiml.parse(document)))
        elif url is not None:
            item = Fetch(url, method.upper())
        else:
            raise ValueError("give a url or a document")
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
            self._tell_caller_left()
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
            self._tell_caller_left()

        self.twilio.background.submit(finish)
        return True

    # -- the engine ------------------------------------------------------------------------

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

    def _release_locked(self) -> list[Item] | None:
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

    def _drive_and_raise(self, items: list[Item]) -> None:
        self.error = None
        error = self._drive(items)
        if error:
            raise AppError(error)

    def _drive(self, items: list[Item]) -> str | None:
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

    def _step(self, item: Item) -> list[Item] | None:
        """One piece of work; the next pieces, or None once the call is let go."""
        match item:
            case Fetch():
                return self._fetch(item)
            case Resume(verbs=verbs):
                with self._lock:
                    if self._ended:
                        return self._release_locked()
                    return self._run_locked(verbs)
            case RingDone():
                return self._ring_done()
            case Answered(outcome=outcome):
                return self._answered(outcome)
            case BridgeParent():
                return self._bridge_parent()
            case EndLeg(leg=leg, status=status, reason=reason):
                leg.end_by_peer(status, reason)
                return []
            case Progress(event=event):
                self._progress_callback(event)
                return []
            case Finish():
                self._send_status_callback()
                with self._lock:
                    self._pending = None
                    self._release_locked()
                self._tell_caller_left()
                return None
        raise AssertionError(item)

    def _fetch(self, item: Fetch) -> list[Item] | None:
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
            return self._answer_locked(url, code, body)

    def _answer_locked(self, url: str, code: int, body: str) -> list[Item] | None:
        """What the app answered to a webhook: run its TwiML, unless the call has moved on
        meanwhile or the answer is not something Twilio would play."""
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

    def _run_locked(self, verbs: tuple[twiml.Verb, ...]) -> list[Item] | None:
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
                    return [Fetch(url, method)]
                case twiml.Hangup():
                    return self._end_locked("completed", "the app hung up")
                case twiml.Dial():
                    return self._dial_locked(verb, rest)
        if self._awaited_by_caller():
            return [BridgeParent()]
        return self._end_locked("completed", "the app's TwiML ran out")

    def _park_locked(
        self,
        state: LineState,
        rest: tuple[twiml.Verb, ...],
        seconds: float | None,
        gather: twiml.Gather | None = None,
    ) -> list[Item] | None:
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
                    items: list[Item] = [Resume(self._rest)]
                case LineState.listening if gather is not None:
                    items = self._gather_timeout_locked(gather)
                case LineState.ringing:
                    items = [RingDone()]
                case LineState.queued:
                    items = [Answered(self._ring_outcome)]
                case _:
                    items = self._release_locked() or []
        self._drive(items)

    # -- leaving a park, ending ------------------------------------------------------------

    def _abandon_locked(self) -> list[Item]:
        """Leave the park for something else (a redirect, a hang-up). A <Dial> in progress
        ends: the other leg is hung up and the Dial's action is requested, its TwiML
        ignored (what Twilio does when a bridged call is redirected)."""
        self._cancel_timers_locked()
        self._gather = None
        self._digits = ""
        return self._leave_dial_locked()

    def _end_now_locked(self, status: str, reason: str) -> list[Item]:
        items = self._abandon_locked()
        self._mark_ended_locked(status, reason)
        return [
            Fetch(i.url, i.method, i.extra, status, ignore_twiml=True)
            if isinstance(i, Fetch)
            else i
            for i in items
        ]

    def _end_locked(self, status: str, reason: str) -> list[Item]:
        """End the call from the running thread; the status callback follows."""
        self._mark_ended_locked(status, reason)
        return [Finish()]

    def _fail_locked(self, message: str) -> list[Item]:
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

    def _side_effects(self, items: list[Item]) -> None:
        """Work left by ending a call that runs in the ending thread (no TwiML runs)."""
        for item in items:
            if isinstance(item, EndLeg):
                item.leg.end_by_peer(item.status, item.reason)
            elif isinstance(item, Fetch):
                params = self.base_params(item.status or self.status) | dict(item.extra)
                try:
                    self.twilio.request(item.method, urljoin(self._url, item.url), params)
                except requests.RequestException as exc:
                    self._event("error", f"{item.url}: {exc}")

    def _child_leg(
        self, sid: str, from_: str, to: str, *, direction: str, noun: twiml.DialNoun, url: str
    ) -> SimulatedCall:
        """A new leg with this call as its parent (the one a <Dial> opens). Made here
        because `dial.py` cannot name this class, which is built from it."""
        return type(self)(
            twilio=self.twilio,
            sid=sid,
            from_=from_,
            to=to,
            direction=direction,
            parent=self,
            noun=noun,
            url=url,
        )

    def _answered_locked(self) -> None:
        self.status = "in-progress"
        self.start_time = self.twilio.clock()
        self._event("answered", self.to)

    # -- what was heard --------------------------------------------------------------------

    def _hear_locked(self, verb: twiml.Say | twiml.Play | twiml.Pause) -> None:
        if isinstance(verb, twiml.Say):
            self.heard.append(verb.text)
            self._event("heard", verb.text)
            self._relay_heard(verb.text)
        elif isinstance(verb, twiml.Play) and verb.transcript is not None:
            # A clip of a recorded sentence: heard as its transcript, once per sentence.
            self.clips.append(verb.url)
            self._event("clip", verb.url)
            if verb.transcript:
                self.heard.append(verb.transcript)
                self._event("heard", verb.transcript, recorded=True)
                self._relay_heard(verb.transcript)
        elif isinstance(verb, twiml.Play):
            self.played.append(verb.url)
            self._event("played", verb.url)

    def _event(self, kind: str, text: str = "", **data: Any) -> None:
        now = self.twilio.clock()
        self.updated_at = now
        self.events.append(Event(len(self.events) + 1, now, kind, text, data))
        self._changed.notify_all()


def _status_callback_for(
    twilio: SimulatedTwilio,
    direction: str,
    noun: twiml.DialNoun | None,
    given: StatusCallback | None,
) -> StatusCallback | None:
    """Where a leg reports its status: an inbound call to the number's status URL, a dialled
    leg to its noun's statusCallback, an outbound call where its creator said."""
    if direction == "inbound":
        return StatusCallback(twilio.status_callback_url)
    if noun is not None and noun.status_callback:
        return StatusCallback(
            noun.status_callback, noun.status_callback_method, noun.status_callback_event
        )
    return given
