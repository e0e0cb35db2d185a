"""End to end: the whole stack in its own processes (gunicorn, an RQ worker, the Twilio
stand-in) with the real Redis and Rasa. Callers dial through the stand-in, which signs every
webhook and plays the TwiML; the worker moves calls through the stand-in's REST API; agents
use the console over HTTP. These are the stories the product promises."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from app.calls import CallStore
from app.queue_service import QueueService
from app.settings import REPO_ROOT, QueueSettings
from standin.client import ControlClient
from standin.scenario import ScenarioRunner, load_scenario
from tests.conftest import ACCOUNT_SID, SUPPORT_NUMBER
from tests.full_stack import AgentBrowser, FullStack, demo_stack
from tests.rasa_stack import RASA_TOKEN, RasaStack
from tests.sids import without_sids
from tests.test_assistant_with_rasa import MARIA

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-demo-password")
# Waits for the stack to do what it promises; bounded so a broken stack fails, not hangs.
HAND_OFF_TIMEOUT = 30


@pytest.fixture
def stack(
    redis_client: redis.Redis, redis_url: str, rasa_stack: RasaStack, tmp_path: Path
) -> Iterator[FullStack]:
    # (redis_client: an empty database for each test.)
    with demo_stack(redis_url, rasa_stack.url, RASA_TOKEN, tmp_path) as full:
        yield full


@pytest.fixture
def control(stack: FullStack) -> Iterator[ControlClient]:
    client = stack.control()
    client.set_phone("client:alice", "after 1s")
    yield client
    client.close()


@pytest.fixture
def alice(stack: FullStack) -> Iterator[AgentBrowser]:
    browser = AgentBrowser(stack.web, *ALICE)
    yield browser
    browser.close()


def people_ahead(text: str) -> int:
    if "You're next in line" in text:
        return 0
    if "There is 1 person ahead" in text:
        return 1
    return int(re.search(r"There are (\d+) people ahead", text).group(1))


def test_the_greeting_gives_the_guarantee_the_position_and_the_wait(
    control: ControlClient,
) -> None:
    for i in range(3):
        control.place_call(f"+1415555020{i}", SUPPORT_NUMBER)
    call = control.place_call("+14155550299", SUPPORT_NUMBER)
    heard = call.heard_since(0)
    assert "I'm the virtual assistant for Acme" in heard
    assert "Your place in the queue is guaranteed" in heard
    assert "There are 3 people ahead of you." in heard
    assert "I can't estimate the wait yet." in heard
    assert "say agent or press 0" in heard


def test_a_verified_caller_with_a_billing_question_reaches_an_agent_who_sees_both(
    control: ControlClient, alice: AgentBrowser, stack: FullStack
) -> None:
    call = control.place_call(MARIA["phone"], SUPPORT_NUMBER)
    mark = call.mark
    call.say("hi i have a question about my bill")
    assert "about your bill" in call.heard_since(mark)  # either of the domain's variations
    call.say("yes please")
    call.press(f"{MARIA['account']}#")
    mark = call.mark
    call.press(f"{MARIA['pin']}#")
    assert "you're verified" in call.heard_since(mark).lower()

    alice.go("available")
    call.wait_for("with_agent", HAND_OFF_TIMEOUT)
    assert call.with_agent == "client:alice"
    whisper = " ".join(call.agent["heard"])
    assert "Verified caller, Maria Garcia." in whisper
    assert "Calling about a billing question." in whisper

    state = alice.state()
    assert (state["state"], state["call_sid"]) == ("on_call", call.sid)
    pop = alice.screen_pop(call.sid)
    assert "Maria Garcia" in pop
    assert "Verified by pin" in pop
    assert 'data-reason="billing">A billing question' in pop
    assert MARIA["pin"] not in without_sids(pop)

    call.agent_hang_up()
    call.wait_for("ended", HAND_OFF_TIMEOUT)
    assert "Goodbye" in call.heard_since(0)
    assert alice.state()["state"] == "wrap_up"
    assert alice.wrap_up(call.sid, "resolved", "Explained the bill.").status_code == 302
    assert alice.state()["state"] == "available"


def test_hold_ask_for_a_callback_hang_up_and_be_called_back_in_turn_by_the_worker(
    control: ControlClient, alice: AgentBrowser
) -> None:
    """The whole stack: the caller asks on the keypad and hangs up; when Alice is free the
    worker places the call through the stand-in's REST API, the caller answers and is put
    through to Alice, who hears "Callback." and sees what was said on the first call."""
    call = control.place_call(MARIA["phone"], SUPPORT_NUMBER)
    call.say("my internet keeps dropping")
    for _ in range(4):  # the assistant asks for the account number; silence: back to holding
        if "If you'd rather not hold, press 2" in call.heard_since(0):
            break
        call.stay_silent()
    mark = call.mark
    call.press("2")
    assert "ending in 0 1 0 1" in call.heard_since(mark)
    call.press("1")
    assert call.ended
    assert "we'll call you when it's your turn" in call.heard_since(0)

    alice.go("available")
    deadline = time.monotonic() + HAND_OFF_TIMEOUT
    while not (placed := [v for v in control.calls() if v["direction"] == "outbound-api"]):
        assert time.monotonic() < deadline, "no callback placed"
        time.sleep(0.2)
    [view] = placed
    assert (view["to"], view["from"]) == (MARIA["phone"], SUPPORT_NUMBER)
    back = control.call(view["sid"])
    back.wait_for("listening", HAND_OFF_TIMEOUT)
    assert "calling you back, as you asked" in back.heard_since(0)
    back.stay_silent()  # still wanted
    back.wait_for("with_agent", HAND_OFF_TIMEOUT)
    assert back.with_agent == "client:alice"
    assert " ".join(back.agent["heard"]).startswith("Callback.")
    state = alice.state()
    assert (state["state"], state["call_sid"]) == ("on_call", back.sid)
    assert "my internet keeps dropping" in alice.screen_pop(back.sid)


def demo_customers() -> list[dict[str, str]]:
    """demo/README.md's table: each customer's account, name, phones and secrets."""
    table = (REPO_ROOT / "demo" / "README.md").read_text(encoding="utf-8")
    rows = [line.strip("|").split("|") for line in table.splitlines() if re.match(r"\| \d", line)]
    keys = ("account", "name", "phones", "pin", "dob", "zip")
    return [dict(zip(keys, (cell.strip() for cell in row[:6]), strict=True)) for row in rows]


def test_a_whole_run_logs_json_keyed_by_call_and_no_customer_number_name_or_secret(
    control: ControlClient, alice: AgentBrowser, stack: FullStack
) -> None:
    call = control.place_call(MARIA["phone"], SUPPORT_NUMBER)
    call.say("hi i have a question about my bill")
    call.say("yes please")
    call.press(f"{MARIA['account']}#")
    call.press(f"{MARIA['pin']}#")
    alice.go("available")
    call.wait_for("with_agent", HAND_OFF_TIMEOUT)
    call.agent_hang_up()
    call.wait_for("ended", HAND_OFF_TIMEOUT)

    logs = stack.logs()
    app_lines = [
        json.loads(line)
        for name in ("web", "worker")
        for line in logs[name].splitlines()
        if line.startswith("{")
    ]
    assert any(
        line.get("call_sid") == call.sid and line.get("queue") == "support" for line in app_lines
    )
    # The product's processes (the stand-in plays Twilio, whose logs are not ours).
    everything = without_sids(logs["web"] + logs["worker"])
    said = without_sids("\n".join(f"{line['msg']} {line.get('exc', '')}" for line in app_lines))
    for customer in demo_customers():
        for phone in customer["phones"].split(","):
            assert phone.strip() not in everything, phone
            assert phone.strip()[1:] not in everything, phone
        assert customer["account"] not in everything, customer["account"]
        assert customer["name"] not in everything, customer["name"]
        for secret in (customer["pin"], customer["dob"], customer["zip"]):
            assert not re.search(rf"(?<!\d){re.escape(secret)}(?!\d)", said), secret


def test_a_dropped_caller_who_calls_back_keeps_their_place_and_what_they_said(
    control: ControlClient, redis_client: redis.Redis
) -> None:
    for i in range(6):
        control.place_call(f"+1415555030{i}", SUPPORT_NUMBER)
    call = control.place_call(MARIA["phone"], SUPPORT_NUMBER)
    assert people_ahead(call.heard_since(0)) == 6
    call.say("my internet keeps dropping")
    call.drop()
    assert call.ended

    back = control.place_call(MARIA["phone"], SUPPORT_NUMBER)
    heard = back.heard_since(0)
    assert "Welcome back. I've kept your place in the queue." in heard
    assert people_ahead(heard) <= 6
    said = [e.text for e in CallStore(redis_client).transcript(back.sid)]
    assert "my internet keeps dropping" in said


def test_saying_agent_at_the_first_prompt_keeps_the_place_and_reaches_a_person(
    control: ControlClient, alice: AgentBrowser
) -> None:
    control.place_call("+14155550401", SUPPORT_NUMBER)
    call = control.place_call("+14155550402", SUPPORT_NUMBER)
    assert people_ahead(call.heard_since(0)) == 1
    mark = call.mark
    call.say("agent")
    assert "I'll keep your place and connect you to the next available person" in (
        call.heard_since(mark)
    )
    alice.go("available")  # takes the first caller
    bob = AgentBrowser(alice.web, "bob", "bob-demo-password")
    try:
        control.set_phone("+15005550101", "after 1s")  # bob's phone number
        bob.go("available")
        call.wait_for("with_agent", HAND_OFF_TIMEOUT)
        assert call.with_agent == "+15005550101"
    finally:
        bob.close()


def test_with_rasa_stopped_callers_get_the_keypad_menu_and_still_reach_agents(
    control: ControlClient, alice: AgentBrowser, rasa_stack: RasaStack
) -> None:
    call = control.place_call("+14155550501", SUPPORT_NUMBER)
    rasa_stack.pause()
    try:
        mark = call.mark
        call.say("i have a question about my bill")
        assert "Press 1 for billing" in call.heard_since(mark)
        call.press("1")
        alice.go("available")
        call.wait_for("with_agent", HAND_OFF_TIMEOUT)
    finally:
        rasa_stack.resume()
    assert "Calling about a billing question." in " ".join(call.agent["heard"])
    assert 'data-reason="billing">A billing question (keypad menu)' in alice.screen_pop(call.sid)


def test_an_agent_who_does_not_answer_sends_the_caller_back_to_the_front(
    control: ControlClient, alice: AgentBrowser
) -> None:
    control.set_phone("client:alice", "never")
    call = control.place_call("+14155550601", SUPPORT_NUMBER)
    later = control.place_call("+14155550602", SUPPORT_NUMBER)
    alice.go("available")
    call.wait_for("ringing", HAND_OFF_TIMEOUT)
    call.wait_for("listening", 60)  # rang out (20 s, scaled) and came back
    assert "You're still first in line" in call.heard_since(0)
    assert alice.state()["state"] == "away"
    assert people_ahead(later.heard_since(0)) == 1


def test_a_forged_webhook_is_refused_and_changes_nothing(
    stack: FullStack, control: ControlClient, redis_client: redis.Redis, support: QueueSettings
) -> None:
    queue_service = QueueService(redis_client)
    control.place_call("+14155550701", SUPPORT_NUMBER)
    before = queue_service.snapshot(support).line_length
    form = {
        "CallSid": "CA" + "a" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": "+14155550702",
        "To": SUPPORT_NUMBER,
        "CallStatus": "ringing",
    }
    for signature in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
        response = requests.post(
            f"{stack.web}/voice/incoming", data=form, headers=signature, timeout=10
        )
        assert response.status_code == 403
    assert queue_service.snapshot(support).line_length == before


@pytest.mark.parametrize(
    "scenario", sorted((REPO_ROOT / "demo" / "scenarios").glob("*.yml")), ids=lambda p: p.stem
)
def test_the_demo_scenarios_pass_against_the_whole_stack(
    scenario: Path, control: ControlClient, alice: AgentBrowser
) -> None:
    """The scenarios a new user runs against `scripts/run`, with Alice at her desk for the
    hand-off ones. For the others she is away: a free agent takes a new caller at once, which
    would race the scenario's own steps (pressing a key while her phone already rings)."""
    alice.go("available" if scenario.name.startswith("handoff-") else "away")
    ScenarioRunner(control).run(load_scenario(scenario))  # raises, saying what was heard
