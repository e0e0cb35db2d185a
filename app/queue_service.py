"""The guaranteed queue: the Python face of the Lua scripts in `queue/`.

Every change to a queue is one script run (atomic across web and worker processes); this
module is the only code that knows the queue's keys. Time is passed in (`clock`) so the
rules are tested by moving the clock, never by sleeping.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import redis

from app.clock import Clock
from app.queue_scripts import (
    AgentReply,
    AgentStateReply,
    ConnectReply,
    DispatchReply,
    EndCallReply,
    LeaveReply,
    PositionReply,
    QueueScripts,
    R,
    RequeueFrontReply,
    ScriptArg,
    SnapshotReply,
    TakeSlotReply,
)
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
)


def queue_keys(queue_name: str) -> list[str]:
    """The keys of one queue, in the order the scripts expect, all with one hash tag."""
    return [f"cq:{{{queue_name}}}:{name}" for name in _KEY_NAMES]


class SlotOutcome(StrEnum):
    new = "new"
    existing = "existing"  # the same CallSid again: a retried webhook
    restored = "restored"  # same number within the grace period
    serving = "serving"  # already talking to an agent
    closed = "closed"  # no place to give back, and new places are not given now
    ended = "ended"  # the call already ended: a late request must not revive it


class CallState(StrEnum):
    waiting = "waiting"
    offered = "offered"
    held = "held"
    serving = "serving"
    unknown = "unknown"


class EndOutcome(StrEnum):
    finished = "finished"
    held = "held"
    released = "released"
    unknown = "unknown"


@dataclass(frozen=True)
class Slot:
    ticket: int
    people_ahead: int
    outcome: SlotOutcome
    previous_call_sid: str | None


@dataclass(frozen=True)
class Position:
    state: CallState
    people_ahead: int | None
    line_length: int
    ticket: int | None
    joined_at: float | None
    agent_id: str | None = None  # offered to, or talking with, this agent


class AgentState(StrEnum):
    available = "available"
    offered = "offered"  # a caller is being put through to them (their phone rings)
    on_call = "on_call"
    wrap_up = "wrap_up"  # the call ended; notes and disposition still to write
    away = "away"


@dataclass(frozen=True)
class AgentStatus:
    state: AgentState
    since: float | None
    call_sid: str | None  # the call offered, taken, or being wrapped up


@dataclass(frozen=True)
class Offer:
    agent_id: str
    ticket: int
    call_sid: str
    joined_at: float


@dataclass(frozen=True)
class QueueSnapshot:
    line_length: int  # everyone counted as ahead of a new caller
    ready: int  # waiting and connected
    held: int  # dropped, within grace
    offered: int  # being connected to an agent
    serving: int  # in conversation with an agent now
    handle_times: list[float]  # seconds, most recent first, within the window asked for
    agents: dict[str, AgentState]  # every agent who has signed in, by id

    @property
    def agents_working(self) -> int:
        """Agents taking calls now (everyone signed in and not away)."""
        return sum(1 for state in self.agents.values() if state is not AgentState.away)


class QueueService:
    """Use cases of the guaranteed queue. Each method is one atomic script run."""

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock = time.time,
        script_dir: Path = QUEUE_DIR,
    ) -> None:
        self._clock = clock
        self._scripts = QueueScripts(client, script_dir)

    def _run(self, script: str, reply: type[R], queue: QueueSettings, *args: ScriptArg) -> R:
        return self._scripts.run(script, reply, queue_keys(queue.name), list(args))

    def _now(self) -> float:
        return round(self._clock(), 3)

    def take_slot(
        self,
        queue: QueueSettings,
        call_sid: str,
        caller: str | None,
        *,
        allow_new: bool = True,
    ) -> Slot:
        """Give this call its place: a new ticket at the back, the same one again for a
        retried webhook, or the held one when this number dropped within the grace period.

        `caller` is the caller's number, or None when withheld (never restores a place).
        With `allow_new` false (closed hours) only an existing or held place is given back.
        """
        reply = self._run(
            "take_slot",
            TakeSlotReply,
            queue,
            call_sid,
            caller or "",
            self._now(),
            "1" if allow_new else "0",
        )
        return Slot(
            ticket=reply.ticket,
            people_ahead=reply.people_ahead,
            outcome=SlotOutcome(reply.outcome),
            previous_call_sid=reply.previous_call_sid or None,
        )

    def position(self, queue: QueueSettings, call_sid: str) -> Position:
        """People ahead (never counting the caller) and the length of the line."""
        reply = self._run("position", PositionReply, queue, call_sid, self._now())
        state = CallState(reply.state)
        known = state is not CallState.unknown
        return Position(
            state=state,
            people_ahead=reply.people_ahead if reply.people_ahead >= 0 else None,
            line_length=reply.line_length,
            ticket=reply.ticket if known else None,
            joined_at=float(reply.joined_at) if known else None,
            agent_id=reply.agent or None,
        )

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

    def dispatch(self, queue: QueueSettings, lease_seconds: int) -> Offer | None:
        """Pair the earliest ready caller with the longest-idle available agent, in one step,
        and lease the caller to that agent. None when either is missing. A lease not settled
        by `connect`, `requeue_front` or `end_call` lapses: the caller goes back to the
        front and the agent is marked away."""
        reply = self._scripts.run_optional(
            "dispatch", DispatchReply, queue_keys(queue.name), [self._now(), lease_seconds]
        )
        if reply is None:
            return None
        return Offer(
            agent_id=reply.agent_id,
            ticket=reply.ticket,
            call_sid=reply.call_sid,
            joined_at=reply.joined_at,
        )

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
        self, queue: QueueSettings, agent_id: str, wanted: AgentState
    ) -> AgentStatus | None:
        """Make an agent available or away. None when they cannot change now (a caller is
        being put through to them, or they are on a call)."""
        if wanted not in (AgentState.available, AgentState.away):
            raise ValueError(f"an agent cannot ask to be {wanted}")
        reply = self._run(
            "agent_state", AgentStateReply, queue, agent_id, wanted.value, self._now()
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
            "snapshot", SnapshotReply, queue, now, now - queue.estimate_window_seconds
        )
        agents: dict[str, str] = json.loads(reply.agents_json)
        return QueueSnapshot(
            line_length=reply.line_length,
            ready=reply.ready,
            held=reply.held,
            offered=reply.offered,
            serving=reply.serving,
            handle_times=[float(json.loads(raw)["seconds"]) for raw in reply.handled_json_list],
            agents={agent: AgentState(state) for agent, state in agents.items()},
        )
