"""The guaranteed queue: the Python face of the Lua scripts in `queue/`.

Every change to a queue is one script run (atomic across web and worker processes); this
module is the only code that knows the queue's keys. Time is passed in (`clock`) so the
rules are tested by moving the clock, never by sleeping.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import redis

from app.clock import Clock
from app.queue_scripts import (
    AgentReply,
    AgentStateReply,
    BookAtOpeningReply,
    CallbackFailedReply,
    CallbackPlacedReply,
    ChooseLanguageReply,
    ConnectReply,
    DispatchReply,
    EndCallReply,
    LeaveReply,
    OfferDeliveredReply,
    PollReply,
    PositionReply,
    QueueScripts,
    R,
    ReconcileReply,
    RequestCallbackReply,
    RequeueFrontReply,
    ScriptArg,
    SnapshotReply,
    TakeSlotReply,
)
from app.redis_batch import Batch
from app.redis_text import text
from app.settings import QUEUE_DIR, QueueSettings

_KEY_NAMES = (
    "seq",
    "line",
    "ready",
    "tickets",
    "calls",
    "held",
    "held_until",
    "offers",
    "serving",
    "handled",
    "ended",
    "agents",
    "idle",
    "undecided",
    "served_languages",
    "callbacks",
    "callback_due",
    "patience",
    "estimate_inputs",
)
# Each language the queue serves has these keys too (queue/_common.lua).
_LANGUAGE_KEY_NAMES = ("line", "ready", "switched", "idle")
# reconcile.lua answers 'stale' when a language came into use between reading the served
# languages and running it (another process with an older queues.yml): read and run again.
_RECONCILE_ATTEMPTS = 5

log = logging.getLogger(__name__)


def _tag(queue: QueueSettings) -> str:
    return f"cq:{{{queue.name}}}"


def language_keys(queue: QueueSettings, languages: Sequence[str]) -> list[str]:
    """The four keys of each of `languages` in this queue, in that order."""
    return [f"{_tag(queue)}:{name}:{code}" for code in languages for name in _LANGUAGE_KEY_NAMES]


def queue_keys(queue: QueueSettings) -> list[str]:
    """The keys of one queue, in the order the scripts expect, all with one hash tag: the
    queue's own, then each language's, in the order of `queue.languages`. A queue serving
    one language keeps its callers once: that language's line and ready set are the
    queue's own (the same members; about 200 bytes a waiting caller and two writes an
    arrival saved), so only several languages have sets of their own."""
    own = [f"{_tag(queue)}:{name}" for name in _KEY_NAMES]
    languages = language_keys(queue, queue.languages)
    if len(queue.languages) == 1:
        languages[:2] = [f"{_tag(queue)}:line", f"{_tag(queue)}:ready"]  # its line, ready
    return own + languages


def sole_language_sets(queue: QueueSettings) -> list[str]:
    """The line and ready set a one-language queue's language would have of its own (from a
    time it served several): reconcile.lua deletes them, the queue's own serving instead."""
    return language_keys(queue, queue.languages[:1])[:2] if len(queue.languages) == 1 else []


def served_languages_key(queue: QueueSettings) -> str:
    """The set of every language the queue has served (reconcile.lua keeps it)."""
    return f"{_tag(queue)}:served_languages"


def languages_arg(queue: QueueSettings) -> str:
    """The last argument of every queue script: the languages whose keys follow the queue's
    own in KEYS."""
    return ",".join(queue.languages)


class SlotOutcome(StrEnum):
    new = "new"
    existing = "existing"  # the same CallSid again: a retried webhook
    restored = "restored"  # same number within the grace period
    callback_restored = "callback_restored"  # this number's pending callback, now on the line
    callback_calling = "callback_calling"  # this number is being called back right now
    serving = "serving"  # already talking to an agent
    closed = "closed"  # no place to give back, and new places are not given now
    ended = "ended"  # the call already ended: a late request must not revive it


class CallState(StrEnum):
    waiting = "waiting"
    offered = "offered"
    held = "held"
    serving = "serving"
    callback = "callback"  # to be called back in its turn, no call now
    callback_wait = "callback_wait"  # a callback try failed: the next after a pause
    unknown = "unknown"


class EndOutcome(StrEnum):
    finished = "finished"
    held = "held"
    released = "released"
    callback = "callback"  # hung up after asking for a callback: the ticket waits
    unknown = "unknown"


class CallbackRequest(StrEnum):
    requested = "requested"
    not_waiting = "not_waiting"  # choosing a language, being put through, with an agent
    taken = "taken"  # that number already has a callback pending on another ticket
    unknown = "unknown"


class CallbackTry(StrEnum):
    retry = "retry"  # tried again after the pause, the place kept
    given_up = "given_up"  # that was the last try: the place is gone
    again = "again"  # the try never started (Twilio unreachable): ready again at once
    stale = "stale"  # not the try in progress: nothing changed


class LanguageOutcome(StrEnum):
    chosen = "chosen"  # the first choice: from undecided to a language
    changed = "changed"  # a change mid-call
    unchanged = "unchanged"  # already in that language
    unknown = "unknown"  # the call has no place (ended, with an agent, never queued)
    not_served = "not_served"  # not one of the queue's languages


@dataclass(frozen=True)
class Slot:
    ticket: int
    people_ahead: int
    outcome: SlotOutcome
    previous_call_sid: str | None
    language: str | None = None  # None while the caller has not chosen one


@dataclass(frozen=True)
class LanguageChoice:
    outcome: LanguageOutcome
    people_ahead: int | None


@dataclass(frozen=True)
class Position:
    state: CallState
    people_ahead: int | None
    line_length: int
    ticket: int | None
    joined_at: float | None
    agent_id: str | None = None  # offered to, or talking with, this agent
    language: str | None = None  # None while not chosen (or unknown)


@dataclass(frozen=True)
class Polled:
    """A wait poll's reading: the call's position, and `inputs`, which changes whenever what
    the wait estimate learns from changes (an estimate made when it was the same still
    holds)."""

    position: Position
    inputs: str


class AgentState(StrEnum):
    available = "available"
    offered = "offered"  # a caller is being put through to them (their phone rings)
    on_call = "on_call"
    wrap_up = "wrap_up"  # the call ended; notes and disposition still to write
    away = "away"


@dataclass(frozen=True)
class AgentSeen:
    """An agent as the queue knows them: their state, and the languages they speak."""

    state: AgentState
    languages: tuple[str, ...]


@dataclass(frozen=True)
class AgentStatus:
    state: AgentState
    since: float | None
    call_sid: str | None  # the call offered, taken, or being wrapped up


@dataclass(frozen=True)
class CallbackAttempt:
    """One offer of a callback to an agent: what its outbound call's webhooks carry (in
    their signed URLs) to say which try they are about."""

    ticket: int
    offer_id: int
    agent_id: str


@dataclass(frozen=True)
class Offer:
    agent_id: str
    ticket: int
    call_sid: str  # '' for a callback still to place
    joined_at: float
    language: str
    callback_number: str = ""  # the number to call back; '' for a caller on the line
    offer_id: int = 0  # this offer's own number: a later offer of the ticket has another

    @property
    def is_callback(self) -> bool:
        return bool(self.callback_number)

    @property
    def attempt(self) -> CallbackAttempt:
        return CallbackAttempt(self.ticket, self.offer_id, self.agent_id)


@dataclass(frozen=True)
class LanguageLine:
    line: int  # counted as ahead in this language (waiting, offered, held)
    ready: int  # waiting and connected in this language
    oldest_joined_at: float | None = None  # when the first in this language's line joined


@dataclass(frozen=True)
class Reconciled:
    """What `QueueService.reconcile` put right (all zero when nothing needed doing)."""

    retired: tuple[str, ...]  # languages the queue served before and serves no more
    moved: int  # callers moved from a retired language into the default
    placed: int  # callers without a language given the default or put with those choosing
    removed: int  # tickets or set entries that had no place where they were
    agents: int  # agents given the default language, or whose idle entries were put right

    @property
    def changed(self) -> bool:
        return any((self.moved, self.placed, self.removed, self.agents))


@dataclass(frozen=True)
class QueueSnapshot:
    line_length: int  # everyone counted as ahead of a new caller
    ready: int  # waiting and connected
    held: int  # dropped, within grace
    offered: int  # being connected to an agent
    serving: int  # in conversation with an agent now
    handle_times: list[float]  # talk seconds, newest first, within estimate_window_seconds
    agents: dict[str, AgentState]  # every agent who has signed in, by id
    agent_languages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    undecided: int = 0  # in the line, language not chosen yet
    languages: dict[str, LanguageLine] = field(default_factory=dict)
    callbacks: int = 0  # asked for and not yet made (counted in line_length and ready)
    oldest_joined_at: float | None = None  # when the first in the line joined
    taken_at: float = 0.0  # the clock when it was read
    agent_since: dict[str, float] = field(default_factory=dict)  # when each state began
    wrap_times: list[float] = field(default_factory=list)  # wrap-up seconds, in the window
    # Within patience_window_seconds: seconds waited by callers who left the line (answered
    # or not), and how many of them hung up unanswered.
    waited_seconds: float = 0.0
    abandoned: int = 0

    def working_agents(self, language: str | None = None) -> list[str]:
        """Agents taking calls now (signed in and not away); with `language`, only those
        who speak it (the only ones who can take its callers)."""
        return [
            agent
            for agent, state in self.agents.items()
            if state is not AgentState.away
            and (language is None or language in self.agent_languages.get(agent, ()))
        ]

    def agents_working(self, language: str | None = None) -> int:
        return len(self.working_agents(language))


@dataclass
class _Handled:
    """The recent K_HANDLED records of a queue (queue/_common.lua), by kind."""

    talk: list[float] = field(default_factory=list)
    wrap: list[float] = field(default_factory=list)

    @classmethod
    def parse(cls, records: list[str], durations_since: float, keep_durations: int) -> _Handled:
        """Newest first: talk and wrap-up times since `durations_since`, or the newest
        `keep_durations` of each however old."""
        handled = cls()
        for raw in records:
            rec = json.loads(raw)
            recent = rec["ended_at"] >= durations_since
            if "seconds" in rec and (recent or len(handled.talk) < keep_durations):
                handled.talk.append(float(rec["seconds"]))
            elif "wrap" in rec and (recent or len(handled.wrap) < keep_durations):
                handled.wrap.append(float(rec["wrap"]))
        return handled


def _position(reply: PositionReply) -> Position:
    state = CallState(reply.state)
    known = state is not CallState.unknown
    return Position(
        state=state,
        people_ahead=reply.people_ahead if reply.people_ahead >= 0 else None,
        line_length=reply.line_length,
        ticket=reply.ticket if known else None,
        joined_at=float(reply.joined_at) if known else None,
        agent_id=reply.agent or None,
        language=reply.language or None,
    )


class QueueService:
    """Use cases of the guaranteed queue. Each method is one atomic script run."""

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock = time.time,
        script_dir: Path = QUEUE_DIR,
        reconciled: Iterable[str] = (),
    ) -> None:
        """`reconciled`: the queues this process has reconciled already (at start); any
        other is reconciled on its first use."""
        self._client = client
        self._clock = clock
        self._scripts = QueueScripts(client, script_dir)
        self._reconciled: set[str] = set(reconciled)

    def _run(self, script: str, reply: type[R], queue: QueueSettings, *args: ScriptArg) -> R:
        self._reconcile_once(queue)
        return self._scripts.run(script, reply, queue_keys(queue), [*args, languages_arg(queue)])

    def _reconcile_once(self, queue: QueueSettings) -> None:
        # Normally done when the services are built; if Redis was down then, on first use.
        if queue.name not in self._reconciled:
            self.reconcile(queue)

    def reconcile(self, queue: QueueSettings) -> Reconciled:
        """Bring the queue's keys in line with the languages it serves now (queue/
        reconcile.lua): callers of a language no longer served move into the default,
        callers and agents from before queues had languages get one, and entries left
        behind while a language was not served go. Nobody's count of people ahead rises.
        Idempotent; run once per queue when a process starts."""
        served = {text(code) for code in self._client.smembers(served_languages_key(queue))}
        retired = sorted(served - set(queue.languages))
        for _ in range(_RECONCILE_ATTEMPTS):
            reply = self._scripts.run(
                "reconcile",
                ReconcileReply,
                queue_keys(queue) + language_keys(queue, retired) + sole_language_sets(queue),
                [",".join(retired), languages_arg(queue)],
            )
            if reply.outcome == "done":
                break
            retired += [code for code in reply.unknown.split(",") if code not in retired]
        else:
            raise RuntimeError(f"queue {queue.name}: languages kept changing while reconciling")
        self._reconciled.add(queue.name)
        done = Reconciled(tuple(retired), reply.moved, reply.placed, reply.removed, reply.agents)
        if done.changed:
            log.info(
                "queue %s reconciled with its languages %s: %s", queue.name, queue.languages, done
            )
        return done

    def _in_a_retired_language(self, queue: QueueSettings, language: str) -> bool:
        """A call in a language the queue no longer serves (put there by a process still
        running with the older queues.yml): reconciled at once, so it is served."""
        if not language or language in queue.languages:
            return False
        self.reconcile(queue)
        return True

    def _now(self) -> float:
        return round(self._clock(), 3)

    def take_slot(
        self,
        queue: QueueSettings,
        call_sid: str,
        caller: str | None,
        *,
        allow_new: bool = True,
        language: str | None = None,
    ) -> Slot:
        """Give this call its place: a new ticket at the back, the same one again for a
        retried webhook, or the held one when this number dropped within the grace period.

        `caller` is the caller's number, or None when withheld (never restores a place).
        With `allow_new` false (closed hours) only an existing or held place is given back.
        A new place is in `language`; None leaves it undecided on a queue with several
        (counted ahead in every language until `choose_language`), and is the queue's only
        language on one with one. A restored place keeps the language it had.
        """
        if language is None and not queue.multilingual:
            language = queue.default_language
        if language is not None and language not in queue.languages:
            raise ValueError(f"queue {queue.name} does not serve {language!r}")
        reply = self._run(
            "take_slot",
            TakeSlotReply,
            queue,
            call_sid,
            caller or "",
            self._now(),
            "1" if allow_new else "0",
            language or "",
        )
        if self._in_a_retired_language(queue, reply.language):
            return self.take_slot(queue, call_sid, caller, allow_new=allow_new, language=language)
        return Slot(
            ticket=reply.ticket,
            people_ahead=reply.people_ahead,
            outcome=SlotOutcome(reply.outcome),
            previous_call_sid=reply.previous_call_sid or None,
            language=reply.language or None,
        )

    def choose_language(self, queue: QueueSettings, call_sid: str, language: str) -> LanguageChoice:
        """Serve this call in `language` from now on, keeping its place (the same arrival
        order). Nobody's count of people ahead rises: see queue/choose_language.lua."""
        reply = self._run(
            "choose_language", ChooseLanguageReply, queue, call_sid, language, self._now()
        )
        return LanguageChoice(
            outcome=LanguageOutcome(reply.outcome),
            people_ahead=reply.people_ahead if reply.people_ahead >= 0 else None,
        )

    def position(self, queue: QueueSettings, call_sid: str) -> Position:
        """People ahead (never counting the caller) and the length of the line."""
        reply = self._run("position", PositionReply, queue, call_sid, self._now())
        if self._in_a_retired_language(queue, reply.language):
            reply = self._run("position", PositionReply, queue, call_sid, self._now())
        return _position(reply)

    def poll(self, queue: QueueSettings, call_sid: str) -> Polled:
        batch = Batch(self._client)
        polled = self.poll_in(batch, queue, call_sid)
        batch.send()
        return polled()

    def poll_in(self, batch: Batch, queue: QueueSettings, call_sid: str) -> Callable[[], Polled]:
        """A wait poll queued on `batch` (sent with the call's record in one round trip):
        the call's position, and the count of changes to what the wait estimate learns
        from. The function returned reads it once the batch is sent."""
        self._reconcile_once(queue)
        args: list[ScriptArg] = [call_sid, self._now(), languages_arg(queue)]
        queued = self._scripts.run_in(batch, "poll", PollReply, queue_keys(queue), args)

        def polled() -> Polled:
            try:
                reply = queued()
            except redis.exceptions.NoScriptError:  # a new or restarted server: load it
                reply = self._run("poll", PollReply, queue, call_sid, self._now())
            if self._in_a_retired_language(queue, reply.position.language):
                reply = self._run("poll", PollReply, queue, call_sid, self._now())
            return Polled(_position(reply.position), reply.inputs)

        return polled

    def end_call(self, queue: QueueSettings, call_sid: str) -> EndOutcome:
        """The call ended: hold an unserved place for the grace period, or record the end of
        a conversation. Unknown or repeated call ends change nothing."""
        reply = self._run(
            "end_call", EndCallReply, queue, call_sid, self._now(), queue.grace_period_seconds
        )
        return EndOutcome(reply.outcome)

    def leave(self, queue: QueueSettings, call_sid: str) -> bool:
        """The caller gave up their place by choice; True if they had one."""
        return self._run("leave", LeaveReply, queue, call_sid, self._now()).outcome == "released"

    def dispatch(
        self, queue: QueueSettings, lease_seconds: int, callback_lease_seconds: int = 0
    ) -> Offer | None:
        """Pair the earliest ready caller whose language an available agent speaks with the
        longest-idle available agent who speaks it (passing over one who is the only free
        speaker of another language with a caller ready), in one step, and lease the caller
        to that agent. None when no such pair exists. A lease not settled by `connect`,
        `requeue_front` or `end_call` lapses: the caller goes back to the front and the
        agent is marked away. A callback in its turn is offered the same way, leased for
        `callback_lease_seconds`, with `Offer.callback_number` to call (`callback_placed`)."""
        self._reconcile_once(queue)
        reply = self._scripts.run_optional(
            "dispatch",
            DispatchReply,
            queue_keys(queue),
            [
                self._now(),
                lease_seconds,
                callback_lease_seconds or lease_seconds,
                languages_arg(queue),
            ],
        )
        if reply is None:
            return None
        return Offer(
            agent_id=reply.agent_id,
            ticket=reply.ticket,
            call_sid=reply.call_sid,
            joined_at=reply.joined_at,
            language=reply.language,
            callback_number=reply.callback_number,
            offer_id=reply.offer_id,
        )

    def request_callback(
        self, queue: QueueSettings, call_sid: str, number: str
    ) -> tuple[CallbackRequest, int | None]:
        """Call this caller back on `number` in their turn instead of holding: the ticket
        keeps its place (see queue/request_callback.lua). Returns the outcome and the
        people ahead."""
        policy = queue.callbacks
        reply = self._run(
            "request_callback",
            RequestCallbackReply,
            queue,
            call_sid,
            number,
            self._now(),
            policy.attempts,
            policy.retry_after_seconds,
        )
        ahead = reply.people_ahead if reply.people_ahead >= 0 else None
        return CallbackRequest(reply.outcome), ahead

    def book_at_opening(
        self,
        queue: QueueSettings,
        call_sid: str,
        caller: str | None,
        number: str,
        language: str,
        opening: float,
    ) -> bool:
        """Closed now: a callback at `opening`, in the order asked for and ahead of every
        caller after opening (queue/book_at_opening.lua). False when that number already
        has a callback pending."""
        if language not in queue.languages:
            raise ValueError(f"queue {queue.name} does not serve {language!r}")
        reply = self._run(
            "book_at_opening",
            BookAtOpeningReply,
            queue,
            call_sid,
            caller or "",
            number,
            language,
            self._now(),
            opening,
            queue.callbacks.attempts,
            queue.callbacks.retry_after_seconds,
        )
        return reply.outcome == "booked"

    def callback_placed(
        self, queue: QueueSettings, attempt: CallbackAttempt, outbound_call_sid: str
    ) -> str | None:
        """Twilio created the callback's call: it now stands for the ticket. Returns the
        call that asked for the callback, or None when the offer lapsed meanwhile (the call
        must be hung up). Idempotent."""
        reply = self._run(
            "callback_placed",
            CallbackPlacedReply,
            queue,
            *self._try_args(queue, attempt, outbound_call_sid),
        )
        return reply.origin_call_sid if reply.outcome == "placed" else None

    def callback_failed(
        self,
        queue: QueueSettings,
        attempt: CallbackAttempt,
        outbound_call_sid: str,
        *,
        counts: bool = True,
    ) -> tuple[CallbackTry, int]:
        """The callback's try did not reach the caller ('' when Twilio never created the
        call): the agent is free, and the ticket waits for the next try or is given up.
        A try that never started (`counts` false: Twilio unreachable) is back at the front
        at once. Returns the outcome and the tries made so far."""
        reply = self._run(
            "callback_failed",
            CallbackFailedReply,
            queue,
            *self._try_args(queue, attempt, outbound_call_sid),
            "1" if counts else "0",
        )
        return CallbackTry(reply.outcome), reply.tries

    def _try_args(
        self, queue: QueueSettings, attempt: CallbackAttempt, outbound_call_sid: str
    ) -> tuple[ScriptArg, ...]:
        """The arguments callback_placed.lua and callback_failed.lua share: which try,
        now, and the queue's policy."""
        policy = queue.callbacks
        return (
            attempt.ticket,
            attempt.offer_id,
            outbound_call_sid,
            attempt.agent_id,
            self._now(),
            policy.attempts,
            policy.retry_after_seconds,
        )

    def offer_delivered(self, queue: QueueSettings, call_sid: str, agent_id: str) -> bool:
        """The offered call was moved to ring `agent_id`: a lapse of its lease from now on
        means the agent did not answer (before, that the call was never moved)."""
        reply = self._run(
            "offer_delivered", OfferDeliveredReply, queue, call_sid, agent_id, self._now()
        )
        return reply.outcome == "delivered"

    def connect(self, queue: QueueSettings, call_sid: str, agent_id: str) -> float | None:
        """The offered agent answered. Returns seconds waited, or None if this call was not
        offered to that agent (the lease lapsed, or another agent has it)."""
        reply = self._run("connect", ConnectReply, queue, call_sid, agent_id, self._now())
        return reply.seconds_waited if reply.outcome == "connected" else None

    def requeue_front(
        self, queue: QueueSettings, call_sid: str, agent_id: str, *, agent_available: bool = False
    ) -> int | None:
        """`agent_id` did not take the call: back at the caller's own ticket. The agent is
        marked away (they did not answer), or stays available when the call could not be
        put through at all (`agent_available`). Returns people ahead, or None when the call
        was not (or no longer) offered to that agent."""
        reply = self._run(
            "requeue_front",
            RequeueFrontReply,
            queue,
            call_sid,
            agent_id,
            self._now(),
            "available" if agent_available else "away",
        )
        return reply.people_ahead if reply.outcome == "requeued" else None

    def set_agent_state(
        self,
        queue: QueueSettings,
        agent_id: str,
        wanted: AgentState,
        languages: Sequence[str] | None = None,
    ) -> AgentStatus | None:
        """Make an agent available or away, speaking `languages` (None: the queue's
        default only); they are offered only callers in one of those. None when they cannot
        change now (a caller is being put through to them, or they are on a call)."""
        if wanted not in (AgentState.available, AgentState.away):
            raise ValueError(f"an agent cannot ask to be {wanted}")
        spoken = list(languages) if languages is not None else [queue.default_language]
        if any("," in code for code in spoken):
            raise ValueError(f"not a language code: {spoken}")
        reply = self._run(
            "agent_state",
            AgentStateReply,
            queue,
            agent_id,
            wanted.value,
            self._now(),
            ",".join(spoken),
        )
        if reply.outcome == "busy":
            return None
        return self.agent(queue, agent_id)

    def agent(self, queue: QueueSettings, agent_id: str) -> AgentStatus:
        rec = json.loads(self._run("agent", AgentReply, queue, agent_id, self._now()).record)
        return AgentStatus(
            state=AgentState(rec["state"]),
            since=rec.get("since"),
            call_sid=rec.get("call_sid"),
        )

    def snapshot(self, queue: QueueSettings) -> QueueSnapshot:
        now = self._now()
        reply = self._run(
            "snapshot",
            SnapshotReply,
            queue,
            now,
            now - queue.estimate_window_seconds,
            queue.estimate_keep_durations,
            now - queue.patience_window_seconds,
        )
        agents: dict[str, dict[str, Any]] = json.loads(reply.agents_json)
        handled = _Handled.parse(
            reply.handled_json_list,
            durations_since=now - queue.estimate_window_seconds,
            keep_durations=queue.estimate_keep_durations,
        )
        # Lua's cjson writes an empty list as {}: either way, no languages.
        by_language: dict[str, dict[str, Any]] = json.loads(reply.languages_json) or {}
        return QueueSnapshot(
            line_length=reply.line_length,
            ready=reply.ready,
            held=reply.held,
            offered=reply.offered,
            serving=reply.serving,
            handle_times=handled.talk,
            agents={agent: AgentState(rec["state"]) for agent, rec in agents.items()},
            agent_languages={agent: tuple(rec["languages"] or ()) for agent, rec in agents.items()},
            undecided=reply.undecided,
            languages={
                code: LanguageLine(
                    line=counts["line"],
                    ready=counts["ready"],
                    oldest_joined_at=counts.get("oldest_joined_at"),
                )
                for code, counts in by_language.items()
            },
            callbacks=reply.callbacks,
            oldest_joined_at=float(reply.oldest_joined_at) if reply.oldest_joined_at else None,
            taken_at=now,
            agent_since={
                agent: float(rec["since"]) for agent, rec in agents.items() if "since" in rec
            },
            wrap_times=handled.wrap,
            waited_seconds=float(reply.waited),
            abandoned=reply.gone,
        )
