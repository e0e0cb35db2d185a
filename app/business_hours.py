"""Opening hours: open now, and when next. Closed on the operator's holidays."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.settings import WEEKDAYS, OperatorSettings

_LOOK_AHEAD_DAYS = 31


def _local(operator: OperatorSettings, when: datetime) -> datetime:
    return when.astimezone(ZoneInfo(operator.timezone))


def is_open(operator: OperatorSettings, when: datetime) -> bool:
    local = _local(operator, when)
    if local.date() in operator.holidays:
        return False
    return any(
        period.opens <= local.time() < period.closes
        for period in operator.business_hours[WEEKDAYS[local.weekday()]]
    )


def next_opening(operator: OperatorSettings, when: datetime) -> datetime | None:
    """The next moment the centre opens after `when` (local time), or None if it never
    opens within a month (the hours are empty)."""
    local = _local(operator, when)
    for offset in range(_LOOK_AHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        if day in operator.holidays:
            continue
        for period in operator.business_hours[WEEKDAYS[day.weekday()]]:
            opening = datetime.combine(day, period.opens, tzinfo=local.tzinfo)
            if opening > local:
                return opening
    return None
