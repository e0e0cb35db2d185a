"""The wait estimate of a caller in a queue: the queue's snapshot read from Redis, its
settings and staffing plan, turned into the estimator's `WaitSnapshot`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.queue_service import AgentState, QueueSnapshot
from app.settings import QueueSettings
from app.staffing_plan import staffing_changes
from app.wait_estimate import BusyAgent, WaitEstimate, WaitSnapshot, estimate_wait


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
        busy=tuple(busy),
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
    return estimate_wait(
        snapshot_for(snapshot, queue, people_ahead, language, timezone),
        min_samples=queue.estimate_min_samples,
    )
