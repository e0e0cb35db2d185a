"""Today's contact-centre figures a supervisor steers by, per queue and language and by
15-minute interval: calls, answered and how fast, service level, abandonment (short
abandons apart), callbacks, what the assistant resolved, verification, why people called,
and how far the announced wait was from the real one.

Each call is counted once when it ends (app/call_end.py writes it into the contact history
at the same moment), in the interval it arrived in, in the operator's time zone. Counters
live in one Redis hash per queue and day (`figures:{queue}:{date}`, field
"HH:MM|language|name"), kept 8 days.

Definitions (as contact centres use them):
- average speed of answer: mean wait of answered callers;
- service level: answered within the queue's `service_level.answer_within_seconds`, out of
  answered plus abandoned (short abandons are neither: a caller who hangs up in the first
  `short_abandon_seconds` never really waited);
- abandonment rate: abandoned out of calls, short abandons left out of both;
- resolved by the assistant: calls that left the queue with the assistant's help, out of
  calls; verification rate: callers verified, out of calls;
- wait error: mean absolute difference between the wait announced on arrival and the wait
  an answered caller had.
Calls are the callers' own calls; callback calls the app places count only as callbacks.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import redis

from app.calls import CallRecord
from app.history import CallSummary, Outcome
from app.redis_text import text
from app.settings import QueueSettings

INTERVAL_MINUTES = 15
KEEP_DAYS = 8
_COUNTED_SECONDS = 3 * 86400


def _key(queue: str, day: str) -> str:
    return f"figures:{queue}:{day}"


def _counted_key(call_sid: str) -> str:
    return f"figures:counted:{call_sid}"


@dataclass
class Tally:
    """Counts for a set of calls, and the rates a supervisor reads from them."""

    calls: int = 0
    answered: int = 0
    answered_in_target: int = 0
    answer_wait_total: float = 0.0
    abandoned: int = 0
    abandoned_short: int = 0
    left: int = 0
    resolved: int = 0
    verified: int = 0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callbacks_not_reached: int = 0
    wait_error_total: float = 0.0
    wait_error_samples: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, amount: float) -> None:
        if name.startswith("reason:"):
            self.reasons[name.removeprefix("reason:")] += int(amount)
        elif name in _FLOAT_FIELDS:
            setattr(self, name, getattr(self, name) + amount)
        elif name in _INT_FIELDS:
            setattr(self, name, getattr(self, name) + int(amount))

    def merge(self, other: Tally) -> None:
        for name in _INT_FIELDS | _FLOAT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)

    @property
    def average_speed_of_answer(self) -> float | None:
        return self.answer_wait_total / self.answered if self.answered else None

    @property
    def service_level(self) -> float | None:
        counted = self.answered + self.abandoned
        return self.answered_in_target / counted if counted else None

    @property
    def abandonment_rate(self) -> float | None:
        counted = self.calls - self.abandoned_short
        return self.abandoned / counted if counted else None

    @property
    def resolved_share(self) -> float | None:
        return self.resolved / self.calls if self.calls else None

    @property
    def verification_rate(self) -> float | None:
        return self.verified / self.calls if self.calls else None

    @property
    def wait_error(self) -> float | None:
        if not self.wait_error_samples:
            return None
        return self.wait_error_total / self.wait_error_samples

    def as_dict(self) -> dict[str, object]:
        return {
            **{name: getattr(self, name) for name in sorted(_INT_FIELDS | _FLOAT_FIELDS)},
            "reasons": dict(self.reasons.most_common()),
            "average_speed_of_answer": self.average_speed_of_answer,
            "service_level": self.service_level,
            "abandonment_rate": self.abandonment_rate,
            "resolved_share": self.resolved_share,
            "verification_rate": self.verification_rate,
            "wait_error": self.wait_error,
        }


_FLOAT_FIELDS = {"answer_wait_total", "wait_error_total"}
_INT_FIELDS = {
    "calls",
    "answered",
    "answered_in_target",
    "abandoned",
    "abandoned_short",
    "left",
    "resolved",
    "verified",
    "callbacks_requested",
    "callbacks_completed",
    "callbacks_not_reached",
    "wait_error_samples",
}


@dataclass(frozen=True)
class Today:
    """A queue's figures since midnight (the operator's time zone)."""

    day: str
    answer_within_seconds: int
    target: float
    total: Tally
    by_language: dict[str, Tally]
    intervals: list[tuple[str, Tally]]  # "HH:MM" of each interval with calls, in order

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day,
            "service_level_target": {
                "answer_within_seconds": self.answer_within_seconds,
                "share": self.target,
            },
            "total": self.total.as_dict(),
            "by_language": {code: t.as_dict() for code, t in self.by_language.items()},
            "intervals": [{"at": at, **t.as_dict()} for at, t in self.intervals],
        }


def interval_of(moment: datetime) -> str:
    minute = moment.minute - moment.minute % INTERVAL_MINUTES
    return f"{moment.hour:02d}:{minute:02d}"


def counts_of(queue: QueueSettings, record: CallRecord, summary: CallSummary) -> dict[str, float]:
    """What one ended call adds to the figures (nothing twice: see CentreFigures.record)."""
    if record.callback_of:  # a callback the app placed: it completes the caller's request
        if summary.outcome is Outcome.answered:
            return {"callbacks_completed": 1}
        if summary.outcome is Outcome.callback_not_reached:
            return {"callbacks_not_reached": 1}
        return {}
    counts: dict[str, float] = {"calls": 1}
    waited = max(0.0, summary.ended_at - summary.started_at)
    match summary.outcome:
        case Outcome.answered:
            waited = summary.waited_seconds if summary.waited_seconds is not None else waited
            counts |= {"answered": 1, "answer_wait_total": waited}
            if waited <= queue.service_level.answer_within_seconds:
                counts["answered_in_target"] = 1
            if record.first_announced_wait is not None:
                error = abs(waited - record.first_announced_wait)
                counts |= {"wait_error_total": error, "wait_error_samples": 1}
        case Outcome.dropped:
            short = waited < queue.short_abandon_seconds
            counts["abandoned_short" if short else "abandoned"] = 1
        case Outcome.left:
            counts["left"] = 1
            if record.dialogue.get("resolved") is True:
                counts["resolved"] = 1
        case Outcome.callback_requested:
            counts["callbacks_requested"] = 1
        case Outcome.callback_not_reached:
            counts["callbacks_not_reached"] = 1
    if summary.verification == "verified":
        counts["verified"] = 1
    if summary.reason:
        counts[f"reason:{summary.reason}"] = 1
    return counts


class CentreFigures:
    def __init__(self, client: redis.Redis, timezone: ZoneInfo) -> None:
        self._redis = client
        self._tz = timezone

    def record(self, queue: QueueSettings, record: CallRecord, summary: CallSummary) -> None:
        """Count an ended call into the interval it arrived in; a call counted already (a
        repeated status callback) adds nothing."""
        if not self._redis.set(_counted_key(summary.call_sid), 1, nx=True, ex=_COUNTED_SECONDS):
            return
        arrived = datetime.fromtimestamp(summary.started_at, self._tz)
        key = _key(queue.name, arrived.date().isoformat())
        prefix = f"{interval_of(arrived)}|{summary.language or queue.default_language}|"
        pipe = self._redis.pipeline(transaction=True)
        for name, amount in counts_of(queue, record, summary).items():
            if float(amount).is_integer():
                pipe.hincrby(key, prefix + name, int(amount))
            else:
                pipe.hincrbyfloat(key, prefix + name, amount)
        pipe.expire(key, KEEP_DAYS * 86400)
        pipe.execute()

    def today(self, queue: QueueSettings, now: float) -> Today:
        day = datetime.fromtimestamp(now, self._tz).date()
        total = Tally()
        by_language: dict[str, Tally] = {}
        by_interval: dict[str, Tally] = {}
        for raw_field, raw_value in self._redis.hgetall(_key(queue.name, day.isoformat())).items():
            at, language, name = text(raw_field).split("|", 2)
            amount = float(text(raw_value))
            if math.isnan(amount):
                continue
            for tally in (
                total,
                by_language.setdefault(language, Tally()),
                by_interval.setdefault(at, Tally()),
            ):
                tally.add(name, amount)
        return Today(
            day=day.isoformat(),
            answer_within_seconds=queue.service_level.answer_within_seconds,
            target=queue.service_level.share,
            total=total,
            by_language={code: by_language[code] for code in sorted(by_language)},
            intervals=sorted(by_interval.items()),
        )
