"""How an estimated wait is put to a caller: "less than a minute", "about 5 minutes", or a
range when the estimate is too uncertain for one number; and when a new estimate is worth
saying again."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from app.wait_estimate import WaitEstimate

# A range is announced when the 20th-80th percentile spread is wider than the median
# itself and than this: "about 10 minutes" for something between 3 and 25 is no promise.
RANGE_MIN_SPREAD_SECONDS = 300
# Said again only when the estimate moved by at least this much (and the spoken words
# change): a re-announcement that says nearly the same thing is noise.
MATERIAL_CHANGE_SECONDS = 60
MATERIAL_CHANGE_SHARE = 0.2


class AnnouncedKind(StrEnum):
    under_a_minute = "under_a_minute"
    about = "about"
    range = "range"


@dataclass(frozen=True)
class Announcement:
    kind: AnnouncedKind
    minutes: int  # about: the minutes said; range: the median's, as it would be said
    low: int = 0  # range: "between low and high minutes"
    high: int = 0
    # The announcement as one number, for measuring it against the wait that came: the
    # minutes said, or below a minute the estimate itself (nothing rounder is said).
    seconds: float = 0.0


def spoken_minutes(seconds: float) -> int:
    """Minutes as announced: whole minutes up to 10, then rounded to 5 (nobody can promise
    "about 23 minutes"); never rounded down to zero."""
    minutes = seconds / 60
    if minutes <= 10:
        return max(1, round(minutes))
    return max(10, 5 * math.floor(minutes / 5 + 0.5))


def announce(estimate: WaitEstimate) -> Announcement:
    if estimate.median < 60:
        return Announcement(AnnouncedKind.under_a_minute, 0, seconds=estimate.median)
    minutes = spoken_minutes(estimate.median)
    spread = estimate.high - estimate.low
    if spread > max(RANGE_MIN_SPREAD_SECONDS, estimate.median):
        low, high = spoken_minutes(estimate.low), spoken_minutes(estimate.high)
        if low < high:
            return Announcement(AnnouncedKind.range, minutes, low, high, seconds=minutes * 60)
    return Announcement(AnnouncedKind.about, minutes, seconds=minutes * 60)


def median_of(wait: WaitEstimate | None) -> float | None:
    """The estimate as one number of seconds (None: not known)."""
    return wait.median if wait else None


def announced(ahead: int, wait: WaitEstimate | None, now: float) -> dict[str, object]:
    """A call record's update for what the caller was just told (the wait loop repeats it
    only when it changes materially)."""
    return {"announced_ahead": ahead, "announced_wait": median_of(wait), "announced_at": now}


def changed_materially(before: float | None, after: float | None) -> bool:
    """Whether a wait announced as `before` (the estimate's median; None: unknown) is worth
    announcing again as `after`."""
    if before is None or after is None:
        return (before is None) != (after is None)
    moved = abs(after - before) >= max(MATERIAL_CHANGE_SECONDS, MATERIAL_CHANGE_SHARE * before)
    said_alike = (before < 60 and after < 60) or (
        before >= 60 and after >= 60 and spoken_minutes(before) == spoken_minutes(after)
    )
    return moved and not said_alike
