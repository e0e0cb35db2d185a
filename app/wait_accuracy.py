"""How honest the announced waits are: each answered caller's wait, against the estimate
they heard on arrival. The operator page shows the error; the estimator can be judged (and
replaced) by it."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass

import redis

KEEP = 1000
CLOSE_ENOUGH_SECONDS = 120


def _key(queue_name: str) -> str:
    return f"wait_accuracy:{queue_name}"


@dataclass(frozen=True)
class AccuracySummary:
    samples: int
    mean_absolute_error: float | None  # seconds
    mean_error: float | None  # seconds, actual minus announced: > 0 means waits ran long
    within_two_minutes: float | None  # share of callers whose wait was within 2 min of it


class WaitAccuracy:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def record(self, queue_name: str, announced: float, actual: float, at: float) -> None:
        pipe = self._redis.pipeline()
        pipe.lpush(
            _key(queue_name), json.dumps({"announced": announced, "actual": actual, "at": at})
        )
        pipe.ltrim(_key(queue_name), 0, KEEP - 1)
        pipe.execute()

    def summary(self, queue_name: str, since: float) -> AccuracySummary:
        """Over the callers answered since `since` (up to the last 1000)."""
        errors = []
        for raw in self._redis.lrange(_key(queue_name), 0, -1):
            sample = json.loads(raw)
            if sample["at"] < since:
                break
            errors.append(sample["actual"] - sample["announced"])
        if not errors:
            return AccuracySummary(0, None, None, None)
        return AccuracySummary(
            samples=len(errors),
            mean_absolute_error=statistics.fmean(abs(e) for e in errors),
            mean_error=statistics.fmean(errors),
            within_two_minutes=sum(abs(e) <= CLOSE_ENOUGH_SECONDS for e in errors) / len(errors),
        )
