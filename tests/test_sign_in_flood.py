"""A flood of sign-ins cannot take the web process from callers: each process checks only a
few passwords at a time (a check is a scrypt hash, ~0.1 s of a core and 32 MiB), and a
sign-in beyond that is asked at once to retry (503, Retry-After), for known and unknown ids
alike, without counting as a wrong password."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from flask import Flask

from app import agents as agents_module
from app.agents import CHECK_WAIT_SECONDS, PasswordChecksBusy
from tests.test_agent_console import sign_in
from tests.test_sign_in_lockout import browser_at, max_failures

# A held check is let go after this at the latest, so a failing test cannot hang.
HOLD_LIMIT_SECONDS = 10.0


class HeldChecks:
    """Stands in for the password hash check: the first `held` checks wait until released
    (keeping their slots taken); the others run as usual."""

    def __init__(self, real: Callable[[str, str], bool], held: int) -> None:
        self._real = real
        self._left = held
        self._lock = threading.Lock()
        self.entered = threading.Semaphore(0)
        self.released = threading.Event()

    def __call__(self, pwhash: str, password: str) -> bool:
        with self._lock:
            hold, self._left = self._left > 0, self._left - 1
        if hold:
            self.entered.release()
            self.released.wait(HOLD_LIMIT_SECONDS)
        return self._real(pwhash, password)

    def wait_until_entered(self, checks: int = 1) -> None:
        for _ in range(checks):
            assert self.entered.acquire(timeout=HOLD_LIMIT_SECONDS), "no check started"


def hold_checks(monkeypatch: pytest.MonkeyPatch, held: int) -> HeldChecks:
    checks = HeldChecks(agents_module.check_password_hash, held)
    monkeypatch.setattr(agents_module, "check_password_hash", checks)
    return checks


@pytest.fixture
def one_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldChecks]:
    checks = hold_checks(monkeypatch, 1)
    yield checks
    checks.released.set()


def test_sign_ins_beyond_the_bound_are_asked_to_retry_at_once_and_not_counted(
    app: Flask, redis_client: redis.Redis, one_held: HeldChecks
) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        # alice signs in at her desk; her password is being checked (the one slot).
        at_desk = pool.submit(sign_in, browser_at(app, "10.0.0.5"), "alice")
        one_held.wait_until_entered()
        # Meanwhile a flood from one address, past its wrong-password threshold, known and
        # unknown ids alike.
        flood = [
            (agent_id, pool.submit(sign_in, browser_at(app, "203.0.113.7"), agent_id, "a guess"))
            for agent_id in ["alice", "nobody"] * max_failures(app)
        ]
        started = time.perf_counter()
        answers = [(agent_id, future.result()) for agent_id, future in flood]
        elapsed = time.perf_counter() - started
        one_held.released.set()
        assert at_desk.result().status_code == 302
    for agent_id, answer in answers:
        assert answer.status_code == 503, agent_id
        assert answer.headers["Retry-After"] == "2"
        assert "Wait a few seconds and sign in again" in answer.get_data(as_text=True)
    # At most one waits for the check under way; the rest are refused without waiting.
    assert elapsed < CHECK_WAIT_SECONDS + 2.0
    # None of them counted: the flooding address is not locked out, and nothing was noted.
    assert redis_client.keys("agent_sign_in_failures:*") == []
    assert sign_in(browser_at(app, "203.0.113.7"), "alice").status_code == 302


def test_a_sign_in_waits_briefly_for_a_check_under_way(app: Flask, one_held: HeldChecks) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        alice = pool.submit(sign_in, browser_at(app, "10.0.0.5"), "alice")
        one_held.wait_until_entered()
        bob = pool.submit(sign_in, browser_at(app, "10.0.0.6"), "bob")
        time.sleep(CHECK_WAIT_SECONDS / 5)
        one_held.released.set()
        assert alice.result().status_code == 302
        assert bob.result().status_code == 302


def test_wrong_passwords_are_still_counted_when_checked(app: Flask) -> None:
    # The bound changes nothing for sign-ins one at a time.
    for _ in range(max_failures(app)):
        assert sign_in(browser_at(app, "203.0.113.7"), "alice", "a guess").status_code == 401
    assert sign_in(browser_at(app, "203.0.113.7"), "alice").status_code == 429
    assert sign_in(browser_at(app, "10.0.0.5"), "alice").status_code == 302


def test_the_bound_is_checks_at_once_per_directory(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = app.extensions["queue_assistant"].agents
    checks = hold_checks(monkeypatch, 2)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            held = [
                pool.submit(agents.authenticate, agent_id, "a guess", at_once=2)
                for agent_id in ("alice", "nobody")
            ]
            checks.wait_until_entered(2)
            started = time.perf_counter()
            for agent_id in ("bob", "nobody"):
                with pytest.raises(PasswordChecksBusy):
                    agents.authenticate(agent_id, "a guess", at_once=2, wait_seconds=0)
            assert time.perf_counter() - started < 0.5
            checks.released.set()
            assert [future.result() for future in held] == [None, None]
    finally:
        checks.released.set()
    assert agents.authenticate("bob", "bob-demo-password", at_once=2).id == "bob"
