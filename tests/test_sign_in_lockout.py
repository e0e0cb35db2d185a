"""Wrong passwords slow the one guessing, not the agent: failures are counted per client
address and agent id, and per agent id across every client with a much higher threshold
(distributed guessing), all on the app's clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from pydantic import ValidationError

from app import create_app
from app.agent_sessions import AgentSessions, Lockout, client_of
from app.settings import QUEUE_DIR, AgentConsoleSettings, Settings
from tests.conftest import Clock
from tests.test_agent_console import sign_in

WINDOW = 15 * 60


def browser_at(app: Flask, address: str) -> FlaskClient:
    """A browser of its own (cookies) at a client address of its own."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def guess(app: Flask, address: str, agent_id: str, times: int) -> None:
    browser = browser_at(app, address)
    for _ in range(times):
        assert sign_in(browser, agent_id, "a guess").status_code == 401


def max_failures(app: Flask) -> int:
    return int(app.extensions["queue_assistant"].config.operator.agent_console.max_failed_sign_ins)


@pytest.fixture
def small_limits_app(
    settings: Settings, clock: Clock, redis_client: object, tmp_path: Path
) -> Iterator[Flask]:
    """The app with the lowest thresholds allowed (3 per client, 7 per agent), so the
    agent-wide one is reached with few (slow, hashed) wrong passwords."""
    operator = yaml.safe_load((QUEUE_DIR / "operator.yml").read_text(encoding="utf-8"))
    operator["agent_console"].update(max_failed_sign_ins=3, max_failed_sign_ins_per_agent=7)
    operator_file = tmp_path / "operator.yml"
    operator_file.write_text(yaml.safe_dump(operator), encoding="utf-8")
    app = create_app(
        {
            "SETTINGS": settings.model_copy(update={"operator_file": operator_file}),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    yield app
    app.extensions["queue_assistant"].close()


def test_wrong_passwords_from_one_client_do_not_stop_the_agent_signing_in_elsewhere(
    app,
) -> None:
    guess(app, "203.0.113.7", "alice", max_failures(app))
    attacker = browser_at(app, "203.0.113.7")
    for _ in range(20):  # refused without being counted
        assert sign_in(attacker, "alice", "a guess").status_code == 429
    assert sign_in(browser_at(app, "10.0.0.5"), "alice").status_code == 302


def test_a_client_past_the_threshold_is_refused_even_with_the_right_password(
    app, clock: Clock
) -> None:
    guess(app, "203.0.113.7", "alice", max_failures(app) - 1)
    clock.advance(10 * 60)
    guess(app, "203.0.113.7", "alice", 1)  # the lock runs a whole window from here
    clock.advance(5 * 60)
    refused = sign_in(browser_at(app, "203.0.113.7"), "alice")
    assert refused.status_code == 429
    assert "Try again in 10 minutes" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "600"
    # The same client may still sign in as someone else.
    assert sign_in(browser_at(app, "203.0.113.7"), "bob").status_code == 302


def test_wrong_passwords_from_many_clients_lock_the_agent_everywhere_and_say_so(
    small_limits_app, clock: Clock
) -> None:
    app = small_limits_app
    for client in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        guess(app, client, "alice", 2)  # 6: under both thresholds
    assert sign_in(browser_at(app, "10.0.0.5"), "alice").status_code == 302
    guess(app, "198.51.100.4", "alice", 1)  # 7: every client's failures, for alice
    for client in ("10.0.0.5", "10.0.0.6"):
        refused = sign_in(browser_at(app, client), "alice")
        assert refused.status_code == 429
        assert "from many places" in refused.get_data(as_text=True)
    assert sign_in(browser_at(app, "10.0.0.6"), "bob").status_code == 302
    clock.advance(WINDOW)
    assert sign_in(browser_at(app, "10.0.0.6"), "alice").status_code == 302


def test_one_client_alone_never_reaches_the_agent_wide_threshold(
    small_limits_app, clock: Clock
) -> None:
    app = small_limits_app
    for _ in range(3):  # each window: its 3 guesses, then refused until the window ends
        guess(app, "203.0.113.7", "alice", 3)
        assert sign_in(browser_at(app, "203.0.113.7"), "alice").status_code == 429
        clock.advance(WINDOW)
    assert sign_in(browser_at(app, "10.0.0.5"), "alice").status_code == 302


def test_guesses_racing_past_a_client_s_lockout_do_not_count_against_the_agent(
    app, clock: Clock
) -> None:
    # Requests checked before the lockout began still fail once each (a server has many
    # threads): they count for their own address, never again for the agent.
    services = app.extensions["queue_assistant"]
    settings = services.config.operator.agent_console
    sessions = AgentSessions(services.redis, settings, clock)
    for _ in range(settings.max_failed_sign_ins_per_agent):
        sessions.note_failure("203.0.113.7", "alice")
    assert sessions.lockout("203.0.113.7", "alice") == Lockout(False, WINDOW)
    assert sessions.lockout("10.0.0.5", "alice") is None


def test_lockouts_lapse_when_the_clock_passes_the_window(app, clock: Clock) -> None:
    guess(app, "203.0.113.7", "alice", max_failures(app))
    clock.advance(WINDOW - 1)
    assert sign_in(browser_at(app, "203.0.113.7"), "alice").status_code == 429
    clock.advance(1)
    assert sign_in(browser_at(app, "203.0.113.7"), "alice").status_code == 302


def test_supervisors_are_treated_the_same(app) -> None:
    guess(app, "203.0.113.7", "carol", max_failures(app))
    assert sign_in(browser_at(app, "203.0.113.7"), "carol").status_code == 429
    assert sign_in(browser_at(app, "10.0.0.5"), "carol").status_code == 302


def test_addresses_in_one_ipv6_64_count_as_one_client(app) -> None:
    # One home or server is given a whole /64: its addresses are one client.
    for n in range(max_failures(app)):
        guess(app, f"2001:db8:1:2::{n + 1:x}", "alice", 1)
    assert sign_in(browser_at(app, "2001:db8:1:2:ffff::1"), "alice").status_code == 429
    assert sign_in(browser_at(app, "2001:db8:1:3::1"), "alice").status_code == 302


def test_a_client_is_its_ipv4_address_or_its_ipv6_64() -> None:
    assert client_of("203.0.113.7") == "203.0.113.7"
    assert client_of("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_of(None) == client_of("not an address") == "unknown"


def test_unknown_ids_are_counted_like_known_ones(app) -> None:
    # Otherwise the 429 would tell a guesser which ids exist.
    guess(app, "203.0.113.7", "nobody", max_failures(app))
    assert sign_in(browser_at(app, "203.0.113.7"), "nobody", "a guess").status_code == 429
    assert sign_in(browser_at(app, "10.0.0.5"), "nobody", "a guess").status_code == 401


def test_the_agent_wide_threshold_must_be_beyond_one_client_s_reach() -> None:
    with pytest.raises(ValidationError, match="max_failed_sign_ins_per_agent"):
        AgentConsoleSettings(max_failed_sign_ins=5, max_failed_sign_ins_per_agent=10)
    assert AgentConsoleSettings().max_failed_sign_ins_per_agent == 50
