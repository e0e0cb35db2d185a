"""Wrong secrets, counted across calls: a caller who hangs up after two wrong PINs and calls
again gets no more tries. Counted per account *and* calling number, so a stranger guessing
locks only themselves; and per account across all numbers with a higher threshold, against
guessing from many (spoofed) numbers, which the account's own numbers pass: a stranger
cannot lock the real customer out. Counts lapse after an hour."""

from __future__ import annotations

import redis

WINDOW_SECONDS = 3600
WITHHELD = "withheld"  # every withheld caller shares one count per account


# Both counts of an account under its hash tag: read together (MGET), so one Redis Cluster
# slot. Account numbers are digits (the customer store), so no brace can escape the tag.
def _caller_key(account: str, caller: str | None) -> str:
    return f"verification_failures:{{{account}}}:{caller or WITHHELD}"


def _account_key(account: str) -> str:
    return f"verification_failures:{{{account}}}"


class VerificationLimits:
    def __init__(self, client: redis.Redis, max_attempts: int, max_per_account: int) -> None:
        self._redis = client
        self.max_attempts = max_attempts
        self.max_per_account = max_per_account

    def exhausted(self, account: str, caller: str | None, *, own_number: bool) -> bool:
        """No more tries for this caller on this account: their own failures reached the
        limit, or (unless they call from the account's own number) everyone's did."""
        mine, everyone = self._redis.mget(_caller_key(account, caller), _account_key(account))
        if mine is not None and int(mine) >= self.max_attempts:
            return True
        return not own_number and everyone is not None and int(everyone) >= self.max_per_account

    def note_failure(self, account: str, caller: str | None) -> int:
        """Count one more wrong secret; returns this caller's failures within the window."""
        pipe = self._redis.pipeline()
        for key in (_caller_key(account, caller), _account_key(account)):
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS, nx=True)
        mine, _, _, _ = pipe.execute()
        return int(mine)

    def clear(self, account: str, caller: str | None) -> None:
        """A right secret: this caller's count starts again. The account-wide count is
        left to lapse, so the owner's success does not reset a stranger's guessing."""
        self._redis.delete(_caller_key(account, caller))
