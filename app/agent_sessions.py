"""Agent console sign-in sessions, kept in Redis so they can expire when idle, end at a hard
limit, and be ended at sign-out (a cookie alone cannot be revoked). The browser holds only
the session's random id, in Flask's signed cookie.

Wrong passwords are counted per client address and agent id (the one guessing is refused,
not the agent), and per agent id across every address with a much higher threshold (a
guess spread over many addresses). Both counts run on the app's clock."""

from __future__ import annotations

import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import redis

from app.clock import Clock
from app.redis_text import text
from app.settings import AgentConsoleSettings

_FAILURES_WINDOW_SECONDS = 15 * 60

_NOTE_FAILURE_LUA = """
-- One wrong password for an agent id: counted for the client address it came from and, up
-- to that address's threshold, for the id from every address (guesses that raced past an
-- address's lockout do not count again there, so one address alone cannot lock the agent
-- out). Each count is a hash {failures, until}: it lives a window from its first failure,
-- and the failure that reaches its threshold makes it last a whole window from then (the
-- lockout). `until` is on the app's clock; Redis' own expiry only clears lapsed counts.
-- KEYS: the address's count, every address's count
-- ARGV: now, window seconds, the address's threshold, every address's threshold
-- Returns: nothing
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local function count(key, threshold)
  local until_at = tonumber(redis.call('HGET', key, 'until'))
  if until_at == nil or until_at <= now then
    redis.call('DEL', key)
    until_at = now + window
  end
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  if failures >= threshold then
    until_at = now + window
  end
  redis.call('HSET', key, 'until', string.format('%.3f', until_at))
  redis.call('EXPIRE', key, math.ceil(until_at - now) + 1)
  return failures
end
if count(KEYS[1], tonumber(ARGV[3])) <= tonumber(ARGV[3]) then
  count(KEYS[2], tonumber(ARGV[4]))
end
"""


def _session_key(token: str) -> str:
    return f"agent_session:{token}"


def _failures_key(agent_id: str, client: str | None = None) -> str:
    """Every address's count for the id, or one address's; both under the id's hash tag.
    The id as typed may be anything: quoted, it cannot reach out of its braces."""
    key = f"agent_sign_in_failures:{{{quote(agent_id, safe='')}}}"
    return key if client is None else f"{key}:{client}"


def client_of(remote_addr: str | None) -> str:
    """The client an address belongs to, for counting wrong passwords: an IPv4 address, or
    an IPv6 address's /64 (one home or server is given a whole /64)."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _seconds_locked(count: list[bytes | None], threshold: int, now: float) -> float:
    """How long a count {failures, until} still locks (0 when it does not)."""
    failures, until = count
    if failures is None or until is None or int(failures) < threshold:
        return 0.0
    return max(0.0, float(until) - now)


@dataclass(frozen=True)
class Lockout:
    """Sign-in refused, even with the right password, for `seconds_left`: from this client
    only, or from everywhere (the id is being guessed from many addresses)."""

    everywhere: bool
    seconds_left: float

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil(self.seconds_left / 60))


@dataclass(frozen=True)
class AgentSession:
    token: str
    agent_id: str
    csrf_token: str
    started_at: float

    def csrf_ok(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(self.csrf_token, offered or "")


class AgentSessions:
    def __init__(
        self,
        client: redis.Redis,
        settings: AgentConsoleSettings,
        clock: Clock,
    ) -> None:
        self._redis = client
        self._idle = settings.session_idle_minutes * 60
        self._max_age = settings.session_max_hours * 3600
        self._max_failures = settings.max_failed_sign_ins
        self._max_failures_per_agent = settings.max_failed_sign_ins_per_agent
        self._clock = clock
        self._note_failure = client.register_script(_NOTE_FAILURE_LUA)

    def lockout(self, client: str, agent_id: str) -> Lockout | None:
        """Too many wrong passwords for this id lately, from this client or from everywhere:
        refuse even a right one for a while, so a password cannot be guessed online. The
        same for ids nobody has, so a refusal does not tell which ids exist."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(_failures_key(agent_id, client), "failures", "until")
        pipe.hmget(_failures_key(agent_id), "failures", "until")
        mine, everyone = pipe.execute()
        now = self._clock()
        if (left := _seconds_locked(mine, self._max_failures, now)) > 0:
            return Lockout(everywhere=False, seconds_left=left)
        if (left := _seconds_locked(everyone, self._max_failures_per_agent, now)) > 0:
            return Lockout(everywhere=True, seconds_left=left)
        return None

    def note_failure(self, client: str, agent_id: str) -> None:
        """Count one wrong password for this id, from this client and from everywhere."""
        self._note_failure(
            keys=[_failures_key(agent_id, client), _failures_key(agent_id)],
            args=[
                repr(self._clock()),
                _FAILURES_WINDOW_SECONDS,
                self._max_failures,
                self._max_failures_per_agent,
            ],
        )

    def start(self, client: str, agent_id: str) -> AgentSession:
        """Sign the agent in. Their client's wrong passwords are forgotten; every address's
        count is not, or signing in would reset a guess spread over many addresses."""
        self._redis.delete(_failures_key(agent_id, client))
        session = AgentSession(
            token=secrets.token_urlsafe(32),
            agent_id=agent_id,
            csrf_token=secrets.token_urlsafe(32),
            started_at=self._clock(),
        )
        self._redis.set(
            _session_key(session.token),
            f"{agent_id} {session.csrf_token} {session.started_at!r}",
            ex=self._idle,
        )
        return session

    def resume(self, token: str | None) -> AgentSession | None:
        """The session for this token if it is still alive; each use restarts the idle
        timer, up to the hard limit."""
        if not token:
            return None
        key = _session_key(token)
        raw = self._redis.get(key)
        if raw is None:
            return None
        agent_id, csrf_token, started = text(raw).split(" ")
        started_at = float(started)
        if self._clock() - started_at > self._max_age:
            self._redis.delete(key)
            return None
        self._redis.expire(key, self._idle)
        return AgentSession(token, agent_id, csrf_token, started_at)

    def end(self, token: str) -> None:
        self._redis.delete(_session_key(token))
