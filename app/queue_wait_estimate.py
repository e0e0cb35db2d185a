"""The wait estimate of a caller in a queue: the queue's snapshot read from Redis, its
settings and staffing plan, turned into the estimator's `WaitSnapshot`; and the estimates of
a whole line, computed at once and reused for a few seconds while the queue is unchanged
(every waiting caller's poll asks for one of them)."""

from __future__ import annotations

import threading
from dataclasses import replace
from zoneinfo import ZoneInfo

from app.queue_service import AgentState, QueueSnapshot
from app.settings import QueueSettings
from app.staffing_plan import staffing_changes
from app.wait_estimate import (
    BusyAgent,
    LineEstimate,
    WaitEstimate,
    WaitSnapshot,
    estimate_line,
)

# A line's estimates are reused this long while nothing in the snapshot but the clock moved.
LINE_REUSE_SECONDS = 5.0


def snapshot_for(
    snapshot: QueueSnapshot,
    queue: QueueSettings,
    people_ahead: int,
    language: str | None,
    timezone: ZoneInfo,
) -> WaitSnapshot:
    """The estimate's view of a queue snapshot read from Redis, for a caller served in
    `language` (None: not chosen yet, every agent counts)."""
    now = snapshot.taken_at
    working = snapshot.working_agents(language)
    free, busy = 0, []
    for agent in working:
        state = snapshot.agents[agent]
        since = snapshot.agent_since.get(agent, now)
        if state is AgentState.on_call:
            busy.append(BusyAgent(since))
        elif state is AgentState.wrap_up:
            busy.append(BusyAgent(since, wrapping_up=True))
        else:  # available, or ringing for a caller ahead (who takes them)
            free += 1
    return WaitSnapshot(
        now=now,
        people_ahead=people_ahead,
        agents_free=free,
        # In a fixed order (Redis returns the agents in any): the same queue, the same snapshot.
        busy=tuple(sorted(busy, key=lambda agent: (agent.since, agent.wrapping_up))),
        talk_times=tuple(snapshot.handle_times),
        wrap_times=tuple(snapshot.wrap_times),
        waited_seconds=snapshot.waited_seconds,
        abandoned=snapshot.abandoned,
        staffing_changes=staffing_changes(
            queue.staffing_plan, timezone, now, snapshot.agents_working(), len(working)
        ),
    )


def estimate_for(
    snapshot: QueueSnapshot,
    queue: QueueSettings,
    people_ahead: int,
    language: str | None,
    timezone: ZoneInfo,
) -> WaitEstimate | None:
    """The estimate for a caller in `queue` served in `language` (None: not chosen yet,
    every agent counts), from its current snapshot, settings and staffing plan (in the
    operator's `timezone`): only agents who speak the caller's language serve their line."""
    own = snapshot.languages.get(language) if language else None
    line_length = own.line + snapshot.undecided if own else snapshot.line_length
    line = _LINES.line(
        (queue.name, language, queue.estimate_min_samples),
        snapshot_for(snapshot, queue, max(people_ahead, line_length), language, timezone),
        queue.estimate_min_samples,
    )
    return line.at(people_ahead) if line else None


class _Lines:
    """The estimates of each line, per process, by what they were computed from."""

    def __init__(self) -> None:
        self._lines: dict[tuple[object, ...], tuple[float, LineEstimate | None]] = {}
        self._lock = threading.Lock()

    def line(
        self, name: tuple[object, ...], snapshot: WaitSnapshot, min_samples: int
    ) -> LineEstimate | None:
        # The same queue as last time but for the clock and the length asked for (the
        # plan's changes, relative to the clock, are compared by when they happen).
        planned = tuple(
            (round(snapshot.now + c.after) if c.after > 0 else "now", c.agents)
            for c in snapshot.staffing_changes
        )
        key = (*name, planned, replace(snapshot, now=0.0, people_ahead=0, staffing_changes=()))
        with self._lock:
            found = self._lines.get(key)
        if found is not None:
            at, line = found
            fresh = 0 <= snapshot.now - at <= LINE_REUSE_SECONDS
            if fresh and (line is None or line.positions >= snapshot.people_ahead):
                return line
        line = estimate_line(snapshot, min_samples)
        with self._lock:
            for old in [k for k, (at, _) in self._lines.items() if snapshot.now - at > 60]:
                del self._lines[old]
            self._lines[key] = (snapshot.now, line)
        return line


_LINES = _Lines()
