"""A discrete-event simulation of one FIFO contact-centre queue, announcing on each arrival
the wait from three estimators built from what each may know:

- the project's estimator (app/wait_estimate.py), from the same snapshot the app builds:
  people ahead, agents free and busy (with how long), recent talk and wrap-up times, recent
  waits of answered and abandoned callers, and the scenario's staffing as the queue's
  staffing plan; and again without the plan (staffing held as now);
- Asterisk app_queue's rule: holdtime <- (3 * holdtime + wait) / 4 on each answered
  caller (`recalc_holdtime`), announced as (holdtime + 30 - waited) / 60 whole minutes
  (`say_position`; waited is 0 on arrival);
- the estimator this one replaced: (people ahead + 1) x mean recent talk time / agents
  working, spoken the same way;
- a reference that knows the scenario's true laws (talk, wrap-up, patience) and how long
  each caller ahead has waited, and is given the same staffing plan: the floor an
  estimator can hope for.

Each served caller's announced waits are scored against the wait they had.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.settings import StaffingStep
from app.staffing_plan import Plan, staffing_changes
from app.wait_announcement import announce
from app.wait_estimate import (
    HIGH_QUANTILE,
    LOW_QUANTILE,
    BusyAgent,
    StaffingChange,
    StaffingTimeline,
    WaitEstimate,
    WaitSnapshot,
    estimate_wait,
)

Draw = Callable[[random.Random], float]

WINDOW_SECONDS = 1800  # the app's default estimate_window_seconds (talk and wrap-up)
PATIENCE_WINDOW_SECONDS = 7200  # the app's default patience_window_seconds
KEEP_DURATIONS = 30  # the app's estimate_keep_durations
MIN_SAMPLES = 3  # the app's default estimate_min_samples
REFERENCE_REPLAYS = 101
OPENING = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Scenario:
    name: str
    about: str
    hours: float
    arrivals_per_hour: Callable[[float], float]  # of the hour since opening
    # Agents on shift from each hour since opening, (hour, agents) in order; the estimator
    # is given it as the queue's staffing plan (a plan kept to the minute).
    staffing: tuple[tuple[float, int], ...]
    talk: Draw
    wrap: Draw
    patience: Draw
    peak_arrivals_per_hour: float
    disruption: bool = False  # bursts and staffing changes: the stricter target
    warm_up_hours: float = 0.5  # callers arriving earlier are not scored

    def staffed(self, hour: float) -> int:
        return [agents for start, agents in self.staffing if start <= hour][-1]

    def plan(self) -> Plan:
        """The staffing as queues.yml's `staffing_plan`: the day opens on a Monday at 08:00
        (UTC, the simulation's time zone)."""
        steps = [
            StaffingStep(at=(OPENING + timedelta(hours=h)).time(), agents=n)
            for h, n in self.staffing
        ]
        return {"monday": steps}


@dataclass
class Scored:
    arrived: float
    waited: float
    ours: float
    unplanned: float  # ours without the staffing plan
    asterisk: float
    reference: float
    previous: float


@dataclass
class _Agent:
    ident: int
    state: str = "free"  # free | talk | wrap | away
    since: float = 0.0
    leaving: bool = False


@dataclass
class _Caller:
    ident: int
    arrived: float
    gives_up_at: float
    ours: float = 0.0
    unplanned: float = 0.0
    asterisk: float = 0.0
    reference: float = 0.0
    previous: float = 0.0
    gone: bool = False


@dataclass
class _History:
    """What the app's K_HANDLED list would hold: (when, value) newest last."""

    talk: deque[tuple[float, float]] = field(default_factory=deque)
    wrap: deque[tuple[float, float]] = field(default_factory=deque)
    answered: deque[tuple[float, float]] = field(default_factory=deque)
    abandoned: deque[tuple[float, float]] = field(default_factory=deque)

    def recent(
        self, which: deque[tuple[float, float]], now: float, window: float = WINDOW_SECONDS
    ) -> tuple[float, ...]:
        keep = KEEP_DURATIONS if which is self.talk or which is self.wrap else 0
        newest = [value for when, value in reversed(which) if when >= now - window]
        if len(newest) < keep:
            newest = [value for _, value in list(reversed(which))[:keep]]
        return tuple(newest)


class Simulation:
    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.s = scenario
        self.rng = random.Random(seed)  # the world
        self.ref_rng = random.Random(seed + 1_000_003)  # the reference's own replays
        self.events: list[tuple[float, int, str, int]] = []
        self.order = 0
        self.agents: list[_Agent] = []
        self.line: deque[_Caller] = deque()
        self.history = _History()
        self.holdtime = 0  # Asterisk's, in whole seconds as app_queue keeps it
        self.scored: list[Scored] = []
        self.callers: dict[int, _Caller] = {}
        self.plan = scenario.plan()

    def _at(self, when: float, kind: str, ident: int = 0) -> None:
        self.order += 1
        heapq.heappush(self.events, (when, self.order, kind, ident))

    def run(self) -> list[Scored]:
        end = self.s.hours * 3600
        self._staff(0.0)
        for minute in range(1, int(self.s.hours * 60)):
            self._at(minute * 60.0, "staffing")
        self._next_arrival(0.0)
        while self.events:
            now, _, kind, ident = heapq.heappop(self.events)
            if kind == "arrival":
                if now < end:
                    self._arrive(now)
                    self._next_arrival(now)
            elif kind == "abandon":
                self._abandon(now, self.callers[ident])
            elif kind == "talk_end":
                self._talk_end(now, self.agents[ident])
            elif kind == "wrap_end":
                self._wrap_end(now, self.agents[ident])
            elif kind == "staffing" and now < end:
                self._staff(now)
        return self.scored

    # -- the world ---------------------------------------------------------------------

    def _next_arrival(self, now: float) -> None:
        # Thinning: a non-homogeneous Poisson process under the peak rate.
        peak = self.s.peak_arrivals_per_hour / 3600
        t = now
        while True:
            t += self.rng.expovariate(peak)
            if t >= self.s.hours * 3600:
                return
            if self.rng.random() * peak <= self.s.arrivals_per_hour(t / 3600) / 3600:
                self._at(t, "arrival")
                return

    def _staff(self, now: float) -> None:
        wanted = self.s.staffed(now / 3600)
        on_shift = [a for a in self.agents if a.state != "away" and not a.leaving]
        for agent in on_shift[wanted:]:  # the most recently joined leave first
            if agent.state == "free":
                agent.state = "away"
            else:
                agent.leaving = True  # after this call
        missing = wanted - len(on_shift)
        for agent in self.agents:
            if missing <= 0:
                break
            if agent.leaving:  # still on their last call: they stay after all
                agent.leaving = False
                missing -= 1
        for agent in self.agents:
            if missing <= 0:
                break
            if agent.state == "away":
                agent.state, agent.since = "free", now
                missing -= 1
                self._serve_next(now, agent)
        while missing > 0:
            agent = _Agent(len(self.agents), "free", now)
            self.agents.append(agent)
            missing -= 1
            self._serve_next(now, agent)

    def _arrive(self, now: float) -> None:
        caller = _Caller(len(self.callers), now, now + self.s.patience(self.rng))
        self.callers[caller.ident] = caller
        waiting = [c for c in self.line if not c.gone]
        caller.ours, caller.unplanned = self._ours(now, len(waiting))
        caller.asterisk = self._asterisk()
        caller.reference = self._reference(now, waiting)
        caller.previous = self._previous(now, len(waiting))
        self.line.append(caller)
        self._at(caller.gives_up_at, "abandon", caller.ident)
        free = next((a for a in self.agents if a.state == "free"), None)
        if free is not None:
            self._serve_next(now, free)

    def _abandon(self, now: float, caller: _Caller) -> None:
        if caller.gone:
            return
        caller.gone = True
        self.history.abandoned.append((now, now - caller.arrived))

    def _serve_next(self, now: float, agent: _Agent) -> None:
        while self.line:
            caller = self.line.popleft()
            if caller.gone:
                continue
            caller.gone = True  # out of the line: answered
            waited = now - caller.arrived
            self.history.answered.append((now, waited))
            # app_queue.c recalc_holdtime: integer arithmetic on whole seconds.
            self.holdtime = ((self.holdtime << 2) - self.holdtime + int(waited)) >> 2
            if caller.arrived >= self.s.warm_up_hours * 3600:
                self.scored.append(
                    Scored(
                        caller.arrived,
                        waited,
                        caller.ours,
                        caller.unplanned,
                        caller.asterisk,
                        caller.reference,
                        caller.previous,
                    )
                )
            agent.state, agent.since = "talk", now
            self._at(now + self.s.talk(self.rng), "talk_end", agent.ident)
            return

    def _talk_end(self, now: float, agent: _Agent) -> None:
        self.history.talk.append((now, now - agent.since))
        agent.state, agent.since = "wrap", now
        self._at(now + self.s.wrap(self.rng), "wrap_end", agent.ident)

    def _wrap_end(self, now: float, agent: _Agent) -> None:
        if agent.leaving:
            agent.state, agent.leaving = "away", False  # as in the app: away, no wrap noted
            return
        self.history.wrap.append((now, now - agent.since))
        agent.state, agent.since = "free", now
        self._serve_next(now, agent)

    # -- the estimators ---------------------------------------------------------------

    def snapshot(self, now: float, ahead: int) -> WaitSnapshot:
        """What the app's snapshot would say (queue_service.snapshot + snapshot_for)."""
        free = sum(1 for a in self.agents if a.state == "free")
        busy = tuple(
            BusyAgent(a.since, wrapping_up=a.state == "wrap")
            for a in self.agents
            if a.state in ("talk", "wrap")
        )
        h = self.history
        abandoned = h.recent(h.abandoned, now, PATIENCE_WINDOW_SECONDS)
        return WaitSnapshot(
            staffing_changes=self._planned(now, free + len(busy)),
            now=now,
            people_ahead=ahead,
            agents_free=free,
            busy=busy,
            talk_times=h.recent(h.talk, now),
            wrap_times=h.recent(h.wrap, now),
            waited_seconds=math.fsum(h.recent(h.answered, now, PATIENCE_WINDOW_SECONDS))
            + math.fsum(abandoned),
            abandoned=len(abandoned),
        )

    def _planned(self, now: float, working: int) -> tuple[StaffingChange, ...]:
        """The plan's changes as the app computes them (app/staffing_plan.py)."""
        moment = (OPENING + timedelta(seconds=now)).timestamp()
        return staffing_changes(self.plan, UTC_ZONE, moment, working, working)

    def _ours(self, now: float, ahead: int) -> tuple[float, float]:
        """Announced with the staffing plan, and without one (staffing held as now)."""
        snapshot = self.snapshot(now, ahead)
        return _announced(snapshot), _announced(replace(snapshot, staffing_changes=()))

    def _previous(self, now: float, ahead: int) -> float:
        talk = self.history.recent(self.history.talk, now)
        working = sum(1 for a in self.agents if a.state != "away")
        if len(talk) < MIN_SAMPLES or not working:
            return 0.0
        wait = (ahead + 1) * statistics.fmean(talk) / working
        return announce(WaitEstimate(wait, wait, wait)).seconds

    def _asterisk(self) -> float:
        minutes = (self.holdtime + 30) // 60  # say_position: rounded to the nearest minute
        # Below a minute it says nothing about the wait: scored at its own number.
        return minutes * 60.0 if minutes >= 1 else float(self.holdtime)

    def _reference(self, now: float, waiting: list[_Caller]) -> float:
        waits = sorted(self._reference_replay(now, waiting) for _ in range(REFERENCE_REPLAYS))
        estimate = WaitEstimate(
            median=waits[len(waits) // 2],
            low=waits[int(LOW_QUANTILE * len(waits))],
            high=waits[int(HIGH_QUANTILE * len(waits))],
        )
        return announce(estimate).seconds

    def _reference_replay(self, now: float, waiting: list[_Caller]) -> float:
        rng, s = self.ref_rng, self.s
        free_at = []
        for agent in self.agents:
            if agent.state == "free":
                free_at.append(0.0)
            elif agent.state == "talk":
                free_at.append(_rest(rng, s.talk, now - agent.since) + s.wrap(rng))
            elif agent.state == "wrap":
                free_at.append(_rest(rng, s.wrap, now - agent.since))
        if not free_at:
            return math.inf
        heapq.heapify(free_at)
        staffing = StaffingTimeline(self._planned(now, len(free_at)), free_at)
        for caller in waiting:
            gives_up_in = _rest(rng, s.patience, now - caller.arrived)
            first_free = staffing.next_free()
            if gives_up_in < first_free:
                continue
            heapq.heapreplace(free_at, first_free + s.talk(rng) + s.wrap(rng))
        return staffing.next_free()


def _announced(snapshot: WaitSnapshot) -> float:
    estimate = estimate_wait(snapshot, MIN_SAMPLES)
    # Unknown: scored as if "no wait" were said, so saying nothing never helps.
    return announce(estimate).seconds if estimate is not None else 0.0


def _rest(rng: random.Random, law: Draw, elapsed: float) -> float:
    """The rest of a duration drawn from `law` that has lasted `elapsed` already."""
    for _ in range(200):
        value = law(rng)
        if value > elapsed:
            return value - elapsed
    return 0.0  # far in the tail: it ends about now
