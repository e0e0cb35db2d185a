"""Wrong secrets lock the guesser, not the customer: counted per account and calling number,
with a higher count per account from every number, which the account's own numbers pass.
The app's own check (Assistant.check_secret) against a real Redis; Rasa is not involved."""

from __future__ import annotations

import redis

from app.assistant import Assistant
from app.calls import CallRecord, CallStore
from app.customers import CustomerStore
from app.dialogue_client import RasaClient
from app.settings import DEMO_DIR, AssistantSettings
from app.verification_limits import VerificationLimits
from tests.conftest import Clock

MARIA_ACCOUNT, MARIA_PIN, MARIA_PHONE = "10234567", "4821", "+14155550101"
SETTINGS = AssistantSettings(max_verification_attempts=3, max_verification_failures_per_account=5)


def assistant(redis_client: redis.Redis, clock: Clock) -> Assistant:
    limits = VerificationLimits(redis_client, 3, 5)
    return Assistant(
        RasaClient("http://127.0.0.1:9", "unused"),  # never called by check_secret
        CustomerStore.from_file(DEMO_DIR / "customers.yml"),
        CallStore(redis_client),
        SETTINGS,
        limits,
        clock,
    )


def enter_pin(app: Assistant, caller: str, pin: str, *, call: int) -> str:
    record = CallRecord(
        call_sid=f"CA{call:032x}",
        queue="support",
        language="en-US",
        caller=caller,
        started_at=0,
        awaiting="secret",
        pending_secret_kind="pin",
        pending_secret_account=MARIA_ACCOUNT,
    )
    return app.check_secret(record, pin).verification or ""


def test_a_stranger_guessing_locks_themselves_not_the_customer(
    redis_client: redis.Redis, clock: Clock
) -> None:
    app = assistant(redis_client, clock)
    outcomes = [enter_pin(app, "+14155550999", "0000", call=n) for n in range(3)]
    assert outcomes == ["failed", "failed", "locked"]
    # Calling again does not give the stranger more tries, even with the right PIN.
    assert enter_pin(app, "+14155550999", MARIA_PIN, call=3) == "locked"
    # Maria, from another number, is not locked by them.
    assert enter_pin(app, "+14155550888", MARIA_PIN, call=4) == "verified"


def test_guessing_from_many_numbers_locks_the_account_but_not_its_own_number(
    redis_client: redis.Redis, clock: Clock
) -> None:
    app = assistant(redis_client, clock)
    for n in range(5):  # five spoofed numbers, one guess each: the account-wide count is hit
        assert enter_pin(app, f"+1415555090{n}", "0000", call=n) == "failed"
    assert enter_pin(app, "+14155550977", MARIA_PIN, call=10) == "locked"
    assert enter_pin(app, MARIA_PHONE, MARIA_PIN, call=11) == "verified"


def test_withheld_callers_share_one_count_per_account(
    redis_client: redis.Redis, clock: Clock
) -> None:
    app = assistant(redis_client, clock)
    outcomes = [enter_pin(app, "", "0000", call=n) for n in range(3)]
    assert outcomes == ["failed", "failed", "locked"]
    assert enter_pin(app, "", MARIA_PIN, call=3) == "locked"
    assert enter_pin(app, MARIA_PHONE, MARIA_PIN, call=4) == "verified"


def test_the_account_wide_count_must_exceed_one_callers() -> None:
    try:
        AssistantSettings(max_verification_attempts=3, max_verification_failures_per_account=3)
    except ValueError as error:
        assert "one stranger locks the customer out" in str(error)
    else:
        raise AssertionError("accepted an account-wide count one caller can reach")
