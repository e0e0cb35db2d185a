"""The wait estimate of a caller in a queue: the queue's snapshot read from Redis, its
settings and staffing plan, turned into the estimator's `WaitSnapshot`; and the estimates of
a whole line, computed at once and reused for a few seconds while the queue is unchanged
(every waiting caller's poll asks for one of them: `PollEstimates`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
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

log = logging.getLogger(__name__)

# A line's estimates are reused this long while nothing in the snapshot but the clock moved.
LINE_REUSE_SECONDS = 5.0
# A wait poll's line is read afresh at most this often, however busy the queue.
POLL_LINE_MIN_SECONDS = 1.0
# A line this long (about 3 ms to replay; 60 ms with 10,000 waiting) is replayed in the
# background when it is old, the old one said meanwhile if no older than STAND_IN_SECONDS,
# and at most every LONG_LINE_MIN_SECONDS: its callers wait long, and its replays cost.
BACKGROUND_LINE_POSITIONS = 500
STAND_IN_SECONDS = 30.0
LONG_LINE_MIN_SECONDS = 10.0


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
    line = _line_for(snapshot, queue, people_ahead, language, timezone)
    return line.at(people_ahead) if line else None


def _line_for(
    snapshot: QueueSnapshot,
    queue: QueueSettings,
    people_ahead: int,
    language: str | None,
    timezone: ZoneInfo,
    pause: Callable[[], object] | None = None,
) -> LineEstimate | None:
    """The estimates of the whole line of `language`, at least up to `people_ahead`."""
    own = snapshot.languages.get(language) if language else None
    line_length = own.line + snapshot.undecided if own else snapshot.line_length
    return _LINES.line(
        (queue.name, language, queue.estimate_min_samples),
        snapshot_for(snapshot, queue, max(people_ahead, line_length), language, timezone),
        queue.estimate_min_samples,
        pause,
    )


@dataclass(frozen=True)
class _Kept:
    line: LineEstimate | None
    inputs: str  # the queue's count of changes when the line was computed
    at: float

    @property
    def long(self) -> bool:
        return self.line is not None and self.line.positions >= BACKGROUND_LINE_POSITIONS

    def covers(self, people_ahead: int, now: float, max_age: float) -> bool:
        fits = self.line is None or self.line.positions >= people_ahead
        return fits and 0 <= now - self.at <= max_age

    def serves(self, people_ahead: int, inputs: str, now: float) -> bool:
        min_age = LONG_LINE_MIN_SECONDS if self.long else POLL_LINE_MIN_SECONDS
        if not self.covers(people_ahead, now, max(LINE_REUSE_SECONDS, min_age)):
            return False
        return now - self.at < min_age or inputs == self.inputs

    def stands_in(self, people_ahead: int, now: float) -> bool:
        """Long enough to be worth replaying in the background, and recent enough to be
        said meanwhile."""
        return self.long and self.covers(people_ahead, now, STAND_IN_SECONDS)

    def at_position(self, people_ahead: int) -> WaitEstimate | None:
        return self.line.at(people_ahead) if self.line else None


class PollEstimates:
    """The wait polls' estimates, per app: each line's, reused while the queue's `inputs`
    count (`QueueService.poll`) has not moved, for LINE_REUSE_SECONDS; read afresh from a
    whole snapshot when it moved, but at most once every POLL_LINE_MIN_SECONDS. A busy
    centre moves it many times a second: each poll reading the whole snapshot (every agent
    and recent call) and replaying the line would cost far more than the poll itself, for
    an estimate no more honest than one a second old.

    A long line (thousands waiting) takes tens of milliseconds to replay: it is replayed on
    a thread of its own while the previous one is still said, rather than holding up the
    poll that found it old (and every poll queued behind it)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str | None], _Kept] = {}
        self._refreshing: dict[tuple[str, str | None], threading.Thread] = {}
        self._line_locks: dict[tuple[str, str | None], threading.Lock] = {}
        self._lock = threading.Lock()

    def estimate(
        self,
        queue: QueueSettings,
        language: str | None,
        people_ahead: int,
        inputs: str,
        now: float,
        snapshot: Callable[[], QueueSnapshot],
        timezone: ZoneInfo,
    ) -> WaitEstimate | None:
        """The estimate for the caller `people_ahead` in `queue`'s line of `language`;
        `snapshot` reads the queue when the kept line will not do."""
        key = (queue.name, language)

        def replay(pause: Callable[[], object]) -> _Kept:
            read = snapshot()
            line = _line_for(read, queue, people_ahead, language, timezone, pause)
            kept = _Kept(line, inputs, now)
            with self._lock:
                self._kept[key] = kept
            return kept

        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept.serves(people_ahead, inputs, now):
            return kept.at_position(people_ahead)
        if kept is not None and kept.stands_in(people_ahead, now):
            self._replay_later(key, replay)
            return kept.at_position(people_ahead)
        # One replay at a time per line: the polls that find it old together (a worker's
        # first, a burst after a quiet spell) wait for it rather than each replaying it.
        with self._replaying(key):
            with self._lock:
                kept = self._kept.get(key)
            if kept is None or not kept.serves(people_ahead, inputs, now):
                # Yielding as the background replay does: under gevent's workers nothing
                # else in the worker runs until this request yields, and a long line's
                # replay is tens of milliseconds.
                kept = replay(_yield)
        return kept.at_position(people_ahead)

    def _replaying(self, key: tuple[str, str | None]) -> threading.Lock:
        with self._lock:
            return self._line_locks.setdefault(key, threading.Lock())

    def _replay_later(
        self, key: tuple[str, str | None], replay: Callable[[Callable[[], object]], _Kept]
    ) -> None:
        def run() -> None:
            try:
                # Every tenth of a millisecond the requests get the interpreter: threads
                # would wait the 5 ms this one would otherwise keep it, and under gevent's
                # workers (time.sleep patched) a greenlet keeps it until it yields.
                replay(_yield)
            except Exception:  # the next poll tries again
                log.exception("replaying the wait estimate of %s failed", key)
            finally:
                with self._lock:
                    del self._refreshing[key]

        with self._lock:
            if key in self._refreshing:
                return
            thread = threading.Thread(target=run, name=f"wait-estimate-{key[0]}", daemon=True)
            self._refreshing[key] = thread
        thread.start()

    def settle(self, timeout: float) -> None:
        """Wait for the replays under way (tests)."""
        with self._lock:
            threads = list(self._refreshing.values())
        for thread in threads:
            thread.join(timeout)


def _yield() -> None:
    """Let the other requests of this process run (time.sleep is gevent's in its workers)."""
    time.sleep(0)


class _Lines:
    """The estimates of each line, per process, by what they were computed from."""

    def __init__(self) -> None:
        self._lines: dict[tuple[object, ...], tuple[float, LineEstimate | None]] = {}
        self._lock = threading.Lock()

    def line(
        self,
        name: tuple[object, ...],
        snapshot: WaitSnapshot,
        min_samples: int,
        pause: Callable[[], object] | None = None,
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
        line = estimate_line(snapshot, min_samples, pause)
        with self._lock:
            for old in [k for k, (at, _) in self._lines.items() if snapshot.now - at > 60]:
                del self._lines[old]
            self._lines[key] = (snapshot.now, line)
        return line


_LINES = _Lines()
