"""Agent console sign-in sessions, kept in Redis so they can expire when idle, end at a hard
limit, and be ended at sign-out (a cookie alone cannot be revoked). The browser holds only
the session's random id, in Flask's signed cookie."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import redis

from app.clock import Clock
from app.redis_text import text
from app.settings import AgentConsoleSettings

_FAILURES_WINDOW_SECONDS = 15 * 60


def _session_key(token: str) -> str:
    return f"agent_session:{token}"


def _failures_key(agent_id: str) -> str:
    return f"agent_sign_in_failures:{agent_id}"


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
        self._clock = clock

    def locked_out(self, agent_id: str) -> bool:
        """Too many wrong passwords for this id lately: refuse even a right one for a while,
        so a password cannot be guessed online."""
        failures = self._redis.get(_failures_key(agent_id))
        return failures is not None and int(failures) >= self._max_failures

    def note_failure(self, agent_id: str) -> None:
        key = _failures_key(agent_id)
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, _FAILURES_WINDOW_SECONDS, nx=True)
        pipe.execute()

    def start(self, agent_id: str) -> AgentSession:
        self._redis.delete(_failures_key(agent_id))
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
