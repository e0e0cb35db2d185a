"""Wrong secrets counted per account, not per call: a caller who hangs up after two wrong
PINs and calls again must not get three more tries. The count lapses after an hour."""

from __future__ import annotations

import redis

WINDOW_SECONDS = 3600


def _key(account: str) -> str:
    return f"verification_failures:{account}"


class VerificationLimits:
    def __init__(self, client: redis.Redis, max_attempts: int) -> None:
        self._redis = client
        self.max_attempts = max_attempts

    def exhausted(self, account: str) -> bool:
        failures = self._redis.get(_key(account))
        return failures is not None and int(failures) >= self.max_attempts

    def note_failure(self, account: str) -> int:
        """Count one more wrong secret; returns the failures within the window."""
        pipe = self._redis.pipeline()
        pipe.incr(_key(account))
        pipe.expire(_key(account), WINDOW_SECONDS, nx=True)
        failures, _ = pipe.execute()
        return int(failures)

    def clear(self, account: str) -> None:
        self._redis.delete(_key(account))
