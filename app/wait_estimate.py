"""Estimated wait: how long until a caller with `people_ahead` callers before them is served.

First estimator, from the observed service rate:

    service rate  = agents working / mean handle time of recent conversations
    estimated wait = (people ahead + 1) / service rate

A caller is reached when the people ahead have been served and one more agent frees up:
that is `people_ahead + 1` completions, arriving at the service rate. With handle times that
are roughly memoryless, the time to the next completion among N busy agents is the mean
handle time / N, whatever each call's age, so the same formula holds mid-call.

It knows nothing when no conversation has finished recently or no agent is working: it then
returns None and the caller is told the wait is not known yet, never a made-up number.
Plain (position + 1) x handle time / agents was measured at 0.2-0.97x the error of Asterisk's
rolling-average rule (../shared/notes/wait-estimates.md); a replay estimator can come later.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the estimate itself is pure arithmetic
    from app.queue_service import QueueSnapshot
    from app.settings import QueueSettings


def estimate_wait_seconds(
    people_ahead: int,
    handle_times: Sequence[float],
    agents_working: int,
    min_samples: int,
) -> float | None:
    """Seconds until this caller is likely to be answered, or None when unknowable."""
    if people_ahead < 0:
        raise ValueError("people_ahead cannot be negative")
    if agents_working <= 0 or len(handle_times) < min_samples:
        return None
    mean_handle = fmean(handle_times)
    if mean_handle <= 0:
        return None
    return (people_ahead + 1) * mean_handle / agents_working


def estimate_for(
    snapshot: QueueSnapshot,
    queue: QueueSettings,
    people_ahead: int,
    language: str | None = None,
) -> float | None:
    """The estimate for a caller in `queue` served in `language`, from its current snapshot
    and settings: only agents who speak the caller's language serve their line (None: the
    language is not chosen yet, every agent counts)."""
    return estimate_wait_seconds(
        people_ahead,
        snapshot.handle_times,
        agents_working=snapshot.agents_working(language),
        min_samples=queue.estimate_min_samples,
    )
