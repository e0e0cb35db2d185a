"""The staffing plan (queues.yml `staffing_plan`): read and refused as the operator wrote it,
turned into the changes the wait estimate expects, and the estimate's use of them."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from app.queue_service import AgentState, QueueService
from app.queue_wait_estimate import estimate_for, snapshot_for
from app.settings import QueueSettings, StaffingStep
from app.staffing_plan import planned_at, staffing_changes
from app.wait_estimate import BusyAgent, StaffingChange, WaitSnapshot, estimate_wait
from standin import new_call_sid
from tests.conftest import Clock

NEW_YORK = ZoneInfo("America/New_York")
PLAN = {
    "monday": [
        StaffingStep(at=time(8), agents=10),
        StaffingStep(at=time(12, 30), agents=5),
        StaffingStep(at=time(13, 30), agents=10),
        StaffingStep(at=time(20), agents=0),
    ],
    "tuesday": [StaffingStep(at=time(8), agents=12)],
}


def at(hour: int, minute: int = 0, day: int = 23) -> float:
    """Monday 23 November 2026 (or another day), New York time, as epoch seconds."""
    return datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK).timestamp()


def test_the_plan_is_read_from_the_yaml_shape() -> None:
    queue = QueueSettings.model_validate(
        {
            "name": "support",
            "languages": ["en-US"],
            "staffing_plan": {"monday": [["08:00", 10], ["12:30", 5]]},
        }
    )
    assert queue.staffing_plan["monday"][1] == StaffingStep(at=time(12, 30), agents=5)


@pytest.mark.parametrize(
    ("plan", "says"),
    [
        ({"someday": [["08:00", 1]]}, "unknown weekday"),
        ({"monday": [["8am", 1]]}, "not a time as HH:MM"),
        ({"monday": [["12:00", 3], ["08:00", 1]]}, "in order of time"),
        ({"monday": [["08:00", -1]]}, "greater than or equal to 0"),
        ({"monday": ["08:00"]}, "is not a"),
    ],
)
def test_a_broken_plan_is_refused_clearly(plan: object, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        QueueSettings.model_validate(
            {"name": "support", "languages": ["en-US"], "staffing_plan": plan}
        )


def test_the_plan_at_a_moment_carries_over_from_the_day_before() -> None:
    local = datetime.fromtimestamp(at(12, 45), NEW_YORK)
    assert planned_at(PLAN, local) == 5
    assert planned_at(PLAN, datetime.fromtimestamp(at(7, 0, day=24), NEW_YORK)) == 0
    assert planned_at(PLAN, datetime.fromtimestamp(at(9, 0, day=24), NEW_YORK)) == 12
    assert planned_at({}, local) is None


def test_lunch_in_twenty_minutes_is_expected() -> None:
    assert staffing_changes(PLAN, NEW_YORK, at(12, 10), 10, 10) == (
        StaffingChange(20 * 60, -5),
        StaffingChange(80 * 60, 5),
    )


def test_agents_beyond_the_plan_leave_after_their_call_and_missing_ones_are_not_invented() -> None:
    # Lunch began: 8 still working where 5 are planned; 3 go when they next finish a call.
    assert staffing_changes(PLAN, NEW_YORK, at(12, 40), 8, 8) == (
        StaffingChange(0, -3),
        StaffingChange(50 * 60, 5),
    )
    # Only 3 came back of the 5 planned: the plan adds its own step, not the missing two.
    assert staffing_changes(PLAN, NEW_YORK, at(12, 40), 3, 3)[0] == StaffingChange(50 * 60, 5)


def test_closing_never_takes_the_line_below_one_agent() -> None:
    changes = staffing_changes(PLAN, NEW_YORK, at(19, 30), 10, 10)
    assert changes == (StaffingChange(30 * 60, -9),)


def test_a_language_gets_its_share_of_a_change() -> None:
    # 2 of the 10 working speak the caller's language: half the team at lunch is 1 of them.
    assert staffing_changes(PLAN, NEW_YORK, at(12, 10), 10, 2) == (
        StaffingChange(20 * 60, -1),
        StaffingChange(80 * 60, 1),
    )
    assert staffing_changes(PLAN, NEW_YORK, at(12, 10), 10, 0) == ()
    assert staffing_changes({}, NEW_YORK, at(12, 10), 10, 10) == ()


def test_the_estimate_expects_the_plan() -> None:
    """Two agents 100 s into 300 s calls, six callers ahead. Held as now: 3 rounds of 300 s
    after the current calls, 200 + 900. With two more agents in 5 minutes, sooner; with one
    going after this call, later."""
    base = {
        "now": 0.0,
        "people_ahead": 6,
        "agents_free": 0,
        "busy": (BusyAgent(-100), BusyAgent(-100)),
        "talk_times": (300.0,) * 5,
    }

    def wait(*changes: StaffingChange) -> float | None:
        estimate = estimate_wait(WaitSnapshot(**base, staffing_changes=changes))  # type: ignore[arg-type]
        return estimate.median if estimate else None

    assert wait() == 1100
    # Callers 1-2 at 200 s, 3-4 by the new agents at 300 s, 5-6 at 500 s; then 600 s.
    assert wait(StaffingChange(300, 2)) == 600
    assert wait(StaffingChange(0, -1)) == 2000  # one agent serves 6 + 1 after 200 s
    assert wait(StaffingChange(0, -2)) is None  # nobody left to answer: no number


def test_the_app_gives_the_estimate_its_queue_s_plan(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    """Wednesday 10:00 in New York, two agents working, one planned from 10:30."""
    for agent in ("alice", "bob"):
        queue_service.set_agent_state(support, agent, AgentState.available)
    planned = support.model_copy(
        update={
            "staffing_plan": {
                "wednesday": [
                    StaffingStep(at=time(9), agents=2),
                    StaffingStep(at=time(10, 30), agents=1),
                ]
            }
        }
    )
    snapshot = snapshot_for(queue_service.snapshot(planned), planned, 0, None, NEW_YORK)
    assert snapshot.staffing_changes == (StaffingChange(30 * 60, -1),)


def test_a_line_s_estimates_are_reused_with_a_plan_too(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    """The plan's changes are relative to the clock; a second later they are the same
    changes, so the line computed a second ago still serves."""
    for i in range(3):
        queue_service.take_slot(support, new_call_sid(), f"+1415555100{i}")
    for agent in ("alice", "bob"):
        queue_service.set_agent_state(support, agent, AgentState.available)
    planned = support.model_copy(
        update={
            "estimate_min_samples": 0,
            "staffing_plan": {"wednesday": [StaffingStep(at=time(10, 30), agents=1)]},
        }
    )
    first = estimate_for(queue_service.snapshot(planned), planned, 2, None, NEW_YORK)
    clock.advance(1)
    assert estimate_for(queue_service.snapshot(planned), planned, 2, None, NEW_YORK) is first
