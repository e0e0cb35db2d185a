"""What an operator (or a supervisor) sees of each queue right now: who is waiting, held,
being put through and served, by language too, callbacks pending and how their tries ended,
every agent's state and languages, the wait a new caller would hear, how far announced
waits have been from the real ones, and today's figures with their charts."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

from app.agents import AgentDirectory
from app.callback_calls import CallbackOutcomes
from app.centre_figures import CentreFigures, Tally, Today
from app.clock import Clock
from app.figure_charts import Chart, day_charts
from app.queue_service import AgentState, QueueService
from app.queue_wait_estimate import estimate_for
from app.settings import OperatorConfig
from app.wait_accuracy import AccuracySummary, WaitAccuracy
from app.wait_announcement import median_of


@dataclass(frozen=True)
class AgentLine:
    id: str
    name: str
    state: AgentState
    languages: list[str]


@dataclass(frozen=True)
class LanguageOverview:
    """One language's line in a queue: who counts as ahead of a new caller choosing it
    (its own callers and those still choosing), who waits, and who can take them."""

    language: str
    line_length: int
    waiting: int
    agents_working: int
    wait_for_new_caller: float | None
    longest_wait: float | None  # seconds the first in this language's line has waited
    agents_by_state: dict[str, int]  # of the agents who speak it
    today: Tally  # calls of today in this language (app/centre_figures.py)


@dataclass(frozen=True)
class QueueOverview:
    name: str
    numbers: list[str]
    line_length: int
    waiting: int
    held: int
    offered: int
    serving: int
    agents: list[AgentLine]
    languages: list[LanguageOverview]
    undecided: int  # in line, still choosing their language
    callbacks_pending: int  # asked for and not yet made (in the line, not on the phone)
    callback_outcomes: dict[str, int]  # placed, reached, machine, busy, ..., given_up
    handled_in_window: int
    mean_handle_seconds: float | None
    wait_for_new_caller: float | None  # seconds; None = "not known yet"
    accuracy: AccuracySummary
    longest_wait: float | None  # seconds the first in line has waited; None: nobody waits
    agents_by_state: dict[str, int]
    today: Today
    charts: list[Chart]
    reason_names: dict[str, str]  # the operator's names for today's reasons


def queue_overviews(
    config: OperatorConfig,
    queue_service: QueueService,
    agents: AgentDirectory,
    accuracy: WaitAccuracy,
    callback_outcomes: CallbackOutcomes,
    figures: CentreFigures,
    clock: Clock,
) -> list[QueueOverview]:
    overviews = []
    now = clock()
    for queue in config.queues.queues:
        snapshot = queue_service.snapshot(queue)
        today = figures.today(queue, now)
        # Agents in the file but never signed in are away.
        lines = [
            AgentLine(a.id, a.name, snapshot.agents.get(a.id, AgentState.away), a.languages)
            for a in agents
            if a.queue == queue.name
        ]
        by_language = []
        for code in queue.languages:
            own = snapshot.languages.get(code)
            ahead = (own.line if own else 0) + snapshot.undecided
            by_language.append(
                LanguageOverview(
                    language=code,
                    line_length=ahead,
                    waiting=own.ready if own else 0,
                    agents_working=snapshot.agents_working(code),
                    wait_for_new_caller=median_of(
                        estimate_for(snapshot, queue, ahead, code, config.timezone)
                    ),
                    longest_wait=_since(own.oldest_joined_at if own else None, now),
                    agents_by_state=_by_state(lines, code),
                    today=today.by_language.get(code, Tally()),
                )
            )
        overviews.append(
            QueueOverview(
                name=queue.name,
                numbers=queue.numbers,
                line_length=snapshot.line_length,
                waiting=snapshot.ready,
                held=snapshot.held,
                offered=snapshot.offered,
                serving=snapshot.serving,
                agents=lines,
                languages=by_language,
                undecided=snapshot.undecided,
                callbacks_pending=snapshot.callbacks,
                callback_outcomes=callback_outcomes.counts(queue),
                handled_in_window=len(snapshot.handle_times),
                mean_handle_seconds=fmean(snapshot.handle_times) if snapshot.handle_times else None,
                wait_for_new_caller=median_of(
                    estimate_for(snapshot, queue, snapshot.line_length, None, config.timezone)
                ),
                accuracy=accuracy.summary(queue.name, since=now - 7 * 86400),
                longest_wait=_since(snapshot.oldest_joined_at, now),
                agents_by_state=_by_state(lines),
                today=today,
                charts=day_charts(today),
                reason_names={
                    reason: config.reason_name(reason, queue.default_language)
                    for reason in today.total.reasons
                },
            )
        )
    return overviews


def _since(moment: float | None, now: float) -> float | None:
    return max(0.0, now - moment) if moment is not None else None


def _by_state(lines: list[AgentLine], language: str | None = None) -> dict[str, int]:
    """How many agents are in each state (of those who speak `language`)."""
    counts = {state.value: 0 for state in AgentState}
    for line in lines:
        if language is None or language in line.languages:
            counts[line.state.value] += 1
    return counts
