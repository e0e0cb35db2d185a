"""Estimated wait: how long until a caller with `people_ahead` callers before them is answered.

A pure function of a `WaitSnapshot`, so the app (from Redis) and the discrete-event
simulation in bench/wait_estimates.py (from its own state) drive it exactly alike.

The estimate replays the near future of this queue many times from what the snapshot knows,
and announces the median of the replays (the number that minimises the mean absolute error),
with the 20th and 80th percentiles for a range when the spread is wide:

- each busy agent frees up after the rest of their current call: a recent talk time longer
  than the call has lasted so far, minus what has passed, then a wrap-up (an agent already
  wrapping up: the rest of a recent wrap-up longer than this one so far). Long calls are
  then expected to end later than short ones, which a mean handle time cannot say;
- free agents take the callers ahead at once;
- each caller ahead may hang up first: patience is drawn from the abandonment rate seen
  recently (callers who gave up per second waited by everyone who left the line, the
  maximum-likelihood rate when some waits end in an answer rather than a hang-up);
- every call after that lasts a recent talk time plus a recent wrap-up, drawn from the
  recent ones (their distribution, not only their mean);
- staffing stays as it is now (breaks and shift ends cannot be foreseen from here).

The replays are seeded from nothing but the snapshot, so the same snapshot always gives the
same estimate (a caller is not told a new number because of chance alone).

It knows nothing when too few conversations have finished recently or no agent speaks the
caller's language: it then returns None and the caller is told the wait is not known yet,
never a made-up number. Measured against Asterisk app_queue's rule in bench/wait_estimates.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import fmean

# Work per estimate: replays x (callers ahead + agents) stays near this many steps (about
# 1.5 ms on the development machine; 7 ms with 1,000 ahead, at the fewest replays). A long
# line needs fewer replays, its spread being relatively small. In bench/run-wait-estimates
# 8,000 steps were no more accurate than 2,000; 1,000 were less.
_STEPS = 2_000
PAUSE_EVERY = 256  # positions of a replay, about 0.1 ms
_MIN_REPLAYS = 21
_MAX_REPLAYS = 201
LOW_QUANTILE = 0.2
HIGH_QUANTILE = 0.8


@dataclass(frozen=True)
class BusyAgent:
    """An agent who is not free now, though they serve the caller's language."""

    since: float  # when they answered their current call, or began wrapping it up
    wrapping_up: bool = False  # False: talking since `since`


@dataclass(frozen=True)
class StaffingChange:
    """Agents the staffing plan adds (> 0) or takes away (< 0) from the caller's line,
    `after` seconds from now. One taken away leaves when they next finish a call."""

    after: float
    agents: int


@dataclass(frozen=True)
class WaitSnapshot:
    """What the estimate knows about one queue and one caller, at one moment.

    now              the clock (epoch seconds)
    people_ahead     callers before this one who still count: waiting, ringing an agent,
                     dropped within the grace period, callbacks due
    agents_free      agents who could take a caller now: available, or ringing for a
                     caller who is one of those ahead (that agent takes that caller)
    busy             agents talking or wrapping up, with when each started
    talk_times       seconds from pick-up to hang-up of recently finished conversations
    wrap_times       seconds of recent wrap-ups (hang-up to available again)
    waited_seconds   seconds waited, in all, by callers who recently left the line,
                     answered or not
    abandoned        how many of them hung up unanswered
    staffing_changes what the staffing plan changes from now on, in time order (agents
                     beyond the plan now leave after their call: a change after 0 s)
    """

    now: float
    people_ahead: int
    agents_free: int
    busy: tuple[BusyAgent, ...] = ()
    talk_times: tuple[float, ...] = ()
    wrap_times: tuple[float, ...] = ()
    waited_seconds: float = 0.0
    abandoned: int = 0
    staffing_changes: tuple[StaffingChange, ...] = ()

    def __post_init__(self) -> None:
        if self.people_ahead < 0:
            raise ValueError("people_ahead cannot be negative")
        if self.agents_free < 0:
            raise ValueError("agents_free cannot be negative")


@dataclass(frozen=True)
class WaitEstimate:
    """Seconds until the caller is likely answered: the median, and the 20th and 80th
    percentiles of the replays."""

    median: float
    low: float
    high: float


def abandonment_rate(waited_seconds: float, abandoned: int) -> float:
    """Hang-ups per second waited: each caller who left unanswered is one event; every
    caller who left the line, answered or not, was exposed for as long as they waited."""
    if abandoned <= 0 or waited_seconds <= 0:
        return 0.0
    return abandoned / waited_seconds


@dataclass
class _Durations:
    """Recent durations, to draw from: a whole one, or the rest of one that has lasted
    `elapsed` already."""

    values: list[float]
    mean: float = field(init=False)

    def __post_init__(self) -> None:
        self.values.sort()
        self.mean = fmean(self.values) if self.values else 0.0

    def draw(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))] if self.values else 0.0

    def rest(self, rng: random.Random, elapsed: float) -> float:
        if not self.values:
            return 0.0
        longer = bisect_right(self.values, elapsed)
        if longer < len(self.values):
            return self.values[longer + int(rng.random() * (len(self.values) - longer))] - elapsed
        # Longer than every recent one: assume it ends at the usual rate from here.
        return rng.expovariate(1 / self.mean) if self.mean > 0 else 0.0


def estimate_wait(snapshot: WaitSnapshot, min_samples: int = 3) -> WaitEstimate | None:
    """The wait of a caller who arrives now behind `people_ahead`, or None when unknowable."""
    line = estimate_line(snapshot, min_samples)
    return line.at(snapshot.people_ahead) if line else None


class LineEstimate:
    """The estimates of a caller behind 0, 1, ... `people_ahead` callers, from the same
    replays: a replay passes every position on its way to the last, so a whole line costs
    what its last caller's estimate costs (the wait loop asks for many positions of one
    line)."""

    def __init__(self, runs: list[list[float]]) -> None:
        self._runs = runs
        self._at: dict[int, WaitEstimate | None] = {}

    @property
    def positions(self) -> int:
        """How many callers ahead it covers, at most."""
        return len(self._runs[0]) - 1

    def at(self, people_ahead: int) -> WaitEstimate | None:
        if people_ahead > self.positions:
            raise ValueError(f"{people_ahead} ahead: the estimate covers {self.positions}")
        if people_ahead not in self._at:
            waits = sorted(run[people_ahead] for run in self._runs)
            median = _quantile(waits, 0.5)
            # None when the plan leaves nobody to answer: no number to promise.
            self._at[people_ahead] = (
                None
                if math.isinf(median)
                else WaitEstimate(
                    median=median,
                    low=_quantile(waits, LOW_QUANTILE),
                    high=_quantile(waits, HIGH_QUANTILE),
                )
            )
        return self._at[people_ahead]


def estimate_line(
    snapshot: WaitSnapshot,
    min_samples: int = 3,
    pause: Callable[[], object] | None = None,
) -> LineEstimate | None:
    """Estimates for every position up to `people_ahead`, or None when unknowable.
    `pause` is called every PAUSE_EVERY positions of each replay (a long line's, on a
    background thread, lets the requests' threads have the interpreter)."""
    if len(snapshot.talk_times) < min_samples:
        return None
    if snapshot.agents_free + len(snapshot.busy) == 0:
        return None
    talk = _Durations(list(snapshot.talk_times))
    wrap = _Durations(list(snapshot.wrap_times))
    rate = abandonment_rate(snapshot.waited_seconds, snapshot.abandoned)
    agents = snapshot.agents_free + len(snapshot.busy)
    replays = max(_MIN_REPLAYS, min(_MAX_REPLAYS, _STEPS // (snapshot.people_ahead + agents + 1)))
    rng = random.Random(repr(snapshot))
    runs = []
    for _ in range(replays):
        runs.append(_replay(snapshot, talk, wrap, rate, rng, pause))
    return LineEstimate(runs)


def _replay(
    snapshot: WaitSnapshot,
    talk: _Durations,
    wrap: _Durations,
    rate: float,
    rng: random.Random,
    pause: Callable[[], object] | None = None,
) -> list[float]:
    """One possible future: when an agent is free for a caller behind 0, 1, ...
    `people_ahead` callers (inf: never)."""
    free_at = [0.0] * snapshot.agents_free
    for agent in snapshot.busy:
        if agent.wrapping_up:
            rest = wrap.rest(rng, snapshot.now - agent.since)
        else:
            rest = talk.rest(rng, snapshot.now - agent.since) + wrap.draw(rng)
        free_at.append(max(0.0, rest))
    heapq.heapify(free_at)
    staffing = StaffingTimeline(snapshot.staffing_changes, free_at)
    answered_at = []
    for position in range(snapshot.people_ahead):
        if pause is not None and position % PAUSE_EVERY == 0:
            pause()
        first_free = staffing.next_free()
        answered_at.append(first_free)  # a caller with this many ahead is answered then
        if math.isinf(first_free):
            return answered_at + [math.inf] * (snapshot.people_ahead + 1 - len(answered_at))
        # Callers ahead hang up at the recent rate (memoryless, so how long each has
        # waited already does not matter); one gone by the time an agent frees is skipped.
        gives_up_at = rng.expovariate(rate) if rate > 0 else math.inf
        if gives_up_at < first_free:
            continue
        heapq.heapreplace(free_at, first_free + talk.draw(rng) + wrap.draw(rng))
    answered_at.append(staffing.next_free())
    return answered_at


class StaffingTimeline:
    """The agents' free times as the staffing plan changes them, applied in time order as
    the replay reaches them."""

    def __init__(self, changes: Sequence[StaffingChange], free_at: list[float]) -> None:
        self._changes = changes
        self._next = 0
        self._leaving = 0
        self._free_at = free_at

    def next_free(self) -> float:
        """When the next agent who stays is free (inf: nobody ever is)."""
        free_at = self._free_at
        while True:
            first_free = free_at[0] if free_at else math.inf
            if self._next < len(self._changes) and self._changes[self._next].after <= first_free:
                change = self._changes[self._next]
                self._next += 1
                if change.agents > 0:
                    for _ in range(change.agents):
                        heapq.heappush(free_at, change.after)
                else:
                    self._leaving -= change.agents
            elif self._leaving and free_at:
                heapq.heappop(free_at)  # finishes their call and goes
                self._leaving -= 1
            else:
                return first_free


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
