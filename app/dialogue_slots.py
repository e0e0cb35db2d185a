"""How many dialogue turns may be at one Rasa process at once, across every web process.

A Rasa process answers its turns one after another (one core, one event loop), so a turn
that arrives with k turns ahead waits about k / C seconds, C being the turns per second the
process serves. Past C x budget turns in flight every new one misses the budget, and the
caller hears silence until it does. So a turn takes a slot at its Rasa process first, and
finds none when the process already holds as many as it can answer in time: the caller
gets the keypad menu at once instead of waiting out the budget.

The slots live in Redis (one sorted set per Rasa process), so the bound holds whatever the
number of web processes and hosts; a slot expires at the end of its turn's budget, so a
web process that dies mid-turn gives its slots back by itself.
"""

from __future__ import annotations

import math
import secrets

import redis

# Less than half the budget: Rasa interleaves its turns at every await (action server,
# tracker store), so latencies spread well above k / C (bench/run-dialogue-capacity: with
# half the budget, p95 was 0.86 of it at 64 in flight), and the machine's speed drifts.
BUDGET_SHARE = 0.4
# Past the budget a slot is free again (the turn has been given up), plus a second for clocks.
_GRACE_MS = 1000

# KEYS[1] the process's slots; ARGV: token, limit, lifetime (ms). Redis's own clock, so
# web hosts' clocks never disagree about what has expired.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


def slots_per_process(turns_per_second: float, budget_seconds: float) -> int:
    """The bound for a Rasa process that serves `turns_per_second`: the turns it answers,
    one after another, within BUDGET_SHARE of the budget (at least one)."""
    return max(1, math.floor(turns_per_second * budget_seconds * BUDGET_SHARE))


class TurnSlots:
    """`limit` turns at once per Rasa process (named by its base URL)."""

    def __init__(self, client: redis.Redis, limit: int, budget_seconds: float) -> None:
        if limit < 1:
            raise ValueError("a Rasa process needs at least one turn slot")
        self.limit = limit
        self._client = client
        self._lifetime_ms = math.ceil(budget_seconds * 1000) + _GRACE_MS
        self._take = client.register_script(_TAKE)

    @staticmethod
    def _key(server: str) -> str:
        return f"dialogue:turns:{server}"

    def take(self, server: str) -> str | None:
        """A token for one turn at `server`, or None when its slots are all taken."""
        token = secrets.token_hex(8)
        taken = self._take(keys=[self._key(server)], args=[token, self.limit, self._lifetime_ms])
        return token if taken else None

    def give_back(self, server: str, token: str) -> None:
        self._client.zrem(self._key(server), token)

    def in_use(self, server: str) -> int:
        """Slots taken now (for tests and the operator's view); expired ones not counted."""
        return int(self._client.zcount(self._key(server), f"({self._now_ms()}", "+inf"))

    def _now_ms(self) -> int:
        seconds, micros = self._client.time()
        return int(seconds) * 1000 + int(micros) // 1000
