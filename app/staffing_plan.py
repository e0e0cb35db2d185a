"""The queue's staffing plan (queues.yml `staffing_plan`) as the wait estimate uses it: how
many agents join or leave the caller's line over the next hours.

Without a plan the estimate assumes today's staffing holds, and a caller who arrives just
before half the team goes to lunch is told the wait of a whole team. With one:
- agents beyond the plan now (the plan dropped and they are finishing calls) leave when
  they next finish a call;
- each later step adds or removes agents; agents missing now (late, absent) are not
  assumed to appear, so a step up adds only the step's difference;
- the plan never takes the line below one agent: at closing, those on shift finish the
  line (the business hours stop new callers, not the ones waiting);
- on a queue with several languages, the changes are shared out by the share of working
  agents who speak the caller's language.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.settings import WEEKDAYS, StaffingStep, Weekday
from app.wait_estimate import StaffingChange

HORIZON = timedelta(hours=4)

Plan = dict[Weekday, list[StaffingStep]]


def planned_at(plan: Plan, moment: datetime) -> int | None:
    """Agents the plan puts on shift at local `moment`: the day's latest step by then, or
    an earlier day's last step (None: the plan has no steps)."""
    for back in range(8):
        day = moment.date() - timedelta(days=back)
        steps = plan.get(WEEKDAYS[day.weekday()], [])
        until = moment.time() if back == 0 else time.max
        earlier = [step.agents for step in steps if step.at <= until]
        if earlier:
            return earlier[-1]
    return None


def _steps_ahead(plan: Plan, local: datetime) -> list[tuple[float, int]]:
    """(seconds from now, agents) of each step within the horizon, in order."""
    ahead = []
    for offset in range(2):  # the horizon reaches into tomorrow at most
        day = local.date() + timedelta(days=offset)
        for step in plan.get(WEEKDAYS[day.weekday()], []):
            moment = datetime.combine(day, step.at, tzinfo=local.tzinfo)
            if local < moment <= local + HORIZON:
                ahead.append(((moment - local).total_seconds(), step.agents))
    return ahead


def staffing_changes(
    plan: Plan, timezone: ZoneInfo, now: float, working: int, working_in_language: int
) -> tuple[StaffingChange, ...]:
    """What the plan changes for a caller's line from `now`: `working` agents take the
    queue's calls now, `working_in_language` of them speak the caller's language."""
    local = datetime.fromtimestamp(now, timezone)
    planned = planned_at(plan, local)
    if planned is None or working <= 0 or working_in_language <= 0:
        return ()
    share = working_in_language / working

    def scaled(agents: int) -> int:
        return round(agents * share)

    changes = []
    expected = max(1, min(working, planned))
    if scaled(expected - working):
        changes.append(StaffingChange(0.0, scaled(expected - working)))
    for after, agents in _steps_ahead(plan, local):
        now_expected = max(1, expected + agents - planned)
        if scaled(now_expected - expected):
            changes.append(StaffingChange(after, scaled(now_expected - expected)))
        expected, planned = now_expected, agents
    return tuple(changes)
