"""Callbacks through the stand-in: a caller holds, asks to be called back, hangs up, and is
called back in their turn by the worker (the stand-in's REST API on loopback places the
outbound call, its phones answer as people or machines, its webhooks are signed); the agent
hears "callback" and sees the context. Real Redis; the clock moved by hand."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import responses
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.bootstrap import Services
from app.history import Outcome
from app.queue_service import AgentState, CallState
from app.settings import QueueSettings, Settings
from standin import FlaskClientTransport, SimulatedCall, SimulatedTwilio
from standin.client import ControlClient
from standin.phones import PhoneBehaviour
from standin.scenario import ScenarioRunner, load_scenario
from standin.server import create_standin_app
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, SUPPORT_NUMBER, Clock
from tests.loopback import running
from tests.test_agent_console import Console

CALLER = "+14155550101"
SETTLE_SECONDS = 10


@dataclass
class World:
    app: Flask
    twilio: SimulatedTwilio
    services: Services
    api: str  # the stand-in's REST and control APIs

    @property
    def support(self) -> QueueSettings:
        return self.services.config.queue_named("support")

    def dispatch(self) -> None:
        """What the worker does when an agent becomes free."""
        self.services.dispatcher.dispatch(self.support)
        for call in self.twilio.calls():
            call.wait_settled(SETTLE_SECONDS)

    def eventually(self, done: Callable[[], bool]) -> bool:
        """The stand-in plays calls in its own threads (the agent's leg answers, the whisper
        runs, the bridge completes): wait a bounded time for what the test expects."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while not done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def callbacks_to(self, number: str) -> list[SimulatedCall]:
        return [c for c in self.twilio.calls() if c.direction == "outbound-api" and c.to == number]


@pytest.fixture
def world(settings: Settings, clock: Clock, redis_client: redis.Redis) -> Iterator[World]:
    """The app, and the stand-in's REST API on a loopback port for the app's Telephony: the
    stand-in plays the calls (webhooks into the app in-process) and places the callbacks."""
    standin: dict[str, Any] = {}

    def rest_api(environ: dict[str, Any], start_response: Any) -> Any:
        return standin["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, rest_api, threaded=True)
    with running(server):
        api = f"http://127.0.0.1:{server.server_port}"
        app = create_app(
            {
                "SETTINGS": settings.model_copy(update={"twilio_api_base_url": api}),
                "CLOCK": clock,
                "TESTING": True,
            }
        )
        twilio = SimulatedTwilio(
            FlaskClientTransport(app.test_client()), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID
        )
        standin["app"] = create_standin_app(twilio, PUBLIC_BASE_URL)
        try:
            yield World(app, twilio, app.extensions["queue_assistant"], api)
        finally:
            twilio.close()
            app.extensions["queue_assistant"].close()


def ask_for_a_callback(world: World, caller: str = CALLER) -> SimulatedCall:
    call = world.twilio.dial(caller, SUPPORT_NUMBER)
    call.stay_silent()  # the greeting ends; the wait loop explains the keys
    mark = len(call.heard)
    call.press("2")
    assert "We'll call you on the number ending in 0 1 0 1." in call.heard_since(mark)
    mark = len(call.heard)
    call.press("1")
    booked = call.heard_since(mark)
    assert "Your place is kept and we'll call you when it's your turn." in booked
    assert call.ended, "told to hang up, the call ends"
    return call


def test_the_wait_menu_names_the_callback_key(world: World) -> None:
    call = world.twilio.dial(CALLER, SUPPORT_NUMBER)
    mark = len(call.heard)
    call.stay_silent()
    assert "If you'd rather not hold, press 2" in call.heard_since(mark)


def test_hold_ask_hang_up_and_be_called_back_in_turn_with_the_context(world: World) -> None:
    first = world.twilio.dial("+14155550111", SUPPORT_NUMBER)
    asked = ask_for_a_callback(world)
    behind = world.twilio.dial("+14155550122", SUPPORT_NUMBER)
    queue = world.services.queue
    assert queue.position(world.support, behind.sid).people_ahead == 2
    assert world.services.history.contact(asked.sid).call.outcome is Outcome.callback_requested

    alice = Console(world.app, "alice")
    alice.set_state("available")
    world.dispatch()
    assert first.wait_for(lambda c: c.with_agent is not None, SETTLE_SECONDS)
    assert world.callbacks_to(CALLER) == [], "the caller who arrived first goes first"

    bob = Console(world.app, "bob")
    bob.set_state("available")
    world.dispatch()
    [callback] = world.callbacks_to(CALLER)
    assert callback.from_ == SUPPORT_NUMBER
    assert callback.wait_for(lambda c: c.gather is not None, SETTLE_SECONDS)
    heard = callback.heard_since(0)
    assert "Hello, this is Acme calling you back, as you asked." in heard
    assert "If you no longer need this call, press 9." in heard
    callback.stay_silent()  # still wanted: on to the agent
    callback.wait_settled(SETTLE_SECONDS)
    assert "putting you through to an agent" in callback.heard_since(0)
    assert world.eventually(
        lambda: queue.position(world.support, callback.sid).state is CallState.serving
    )
    assert queue.agent(world.support, "bob").state is AgentState.on_call
    # The agent heard it is a callback, and sees the call on the console.
    whisper = [e.text for e in callback.events_since(0) if e.kind == "agent_heard"]
    assert whisper[0] == "Callback.", whisper
    assert bob.state()["call_sid"] == callback.sid
    card = bob.client.get(f"/agent/calls/{callback.sid}").get_data(as_text=True)
    assert "asked to be called back on the number ending 01" in card
    # Nobody behind was overtaken, and nobody's count rose.
    assert queue.position(world.support, behind.sid).people_ahead == 0


def test_a_machine_answering_frees_the_agent_and_the_try_is_repeated_then_given_up(
    world: World, clock: Clock
) -> None:
    ask_for_a_callback(world)
    world.twilio.phones.set(CALLER, PhoneBehaviour.parse("machine"))
    bob = Console(world.app, "bob")
    bob.set_state("available")
    settings = world.support.callbacks
    for attempt in range(1, settings.attempts + 1):
        world.dispatch()
        tries = world.callbacks_to(CALLER)
        assert len(tries) == attempt
        assert tries[-1].wait_for(lambda c: c.ended, SETTLE_SECONDS)
        # The agent is free at once, not held for the ring time.
        assert world.eventually(
            lambda: world.services.queue.agent(world.support, "bob").state is AgentState.available
        )
        clock.advance(settings.retry_after_seconds)
    world.dispatch()
    assert len(world.callbacks_to(CALLER)) == settings.attempts, "no try beyond the policy"
    counts = world.services.callback_outcomes.counts(world.support)
    assert (counts["machine"], counts["given_up"]) == (settings.attempts, 1)
    last = world.callbacks_to(CALLER)[-1]
    assert world.services.history.contact(last.sid).call.outcome is Outcome.callback_not_reached
    # The operator's view counts them.
    carol = Console(world.app, "carol")
    [support] = [
        q
        for q in carol.client.get("/operator/queues.json").get_json()["queues"]
        if q["name"] == "support"
    ]
    assert support["callbacks_pending"] == 0
    assert support["callback_outcomes"]["given_up"] == 1
    assert "given up 1" in carol.client.get("/operator/").get_data(as_text=True)


def test_the_operator_sees_callbacks_pending(world: World) -> None:
    ask_for_a_callback(world)
    carol = Console(world.app, "carol")
    [support] = [
        q
        for q in carol.client.get("/operator/queues.json").get_json()["queues"]
        if q["name"] == "support"
    ]
    assert (support["callbacks_pending"], support["line_length"]) == (1, 1)


@pytest.mark.parametrize("answer", ["busy", "never", "failed"])
def test_busy_no_answer_or_failed_is_a_missed_try_the_place_kept(
    answer: str, world: World, clock: Clock
) -> None:
    ask_for_a_callback(world)
    behind = world.twilio.dial("+14155550122", SUPPORT_NUMBER)
    world.twilio.phones.set(CALLER, PhoneBehaviour.parse(answer))
    Console(world.app, "bob").set_state("available")
    world.dispatch()
    [missed] = world.callbacks_to(CALLER)
    assert missed.wait_for(lambda c: c.ended, SETTLE_SECONDS)
    outcome = {"never": "no-answer"}.get(answer, answer)
    outcomes = world.services.callback_outcomes
    assert world.eventually(lambda: outcomes.counts(world.support).get(outcome) == 1)
    # Bob is free again at once (not after the lease): the worker offers him the next,
    # whom the callback counted ahead of all along.
    world.dispatch()
    assert world.eventually(
        lambda: world.services.queue.position(world.support, behind.sid).state is CallState.serving
    )
    # A duplicated or late status callback for that try changes nothing.
    status_url = missed.status_callback_url
    assert status_url is not None
    for _ in range(2):
        code, _ = world.twilio.post(status_url, missed.base_params(missed.status))
        assert code == 204
    assert outcomes.counts(world.support)[outcome] == 1


def test_a_withheld_caller_keys_a_number_and_bad_ones_are_refused(world: World) -> None:
    call = world.twilio.dial("anonymous", SUPPORT_NUMBER)
    call.stay_silent()
    mark = len(call.heard)
    call.press("2")
    assert "I can't see your number." in call.heard_since(mark)
    for keyed, refusal in (
        ("12#", "Sorry, that isn't a number I can call."),
        ("9005551234#", "Sorry, I can't call premium-rate numbers."),
        ("442079460000#", "Sorry, that isn't a number I can call."),
    ):
        mark = len(call.heard)
        call.press(keyed)
        heard = call.heard_since(mark)
        assert refusal in heard, heard
        if "I can't arrange a callback right now" in heard:
            break
        assert "Please key in the number to call" in heard
    # Two numbers that cannot be called: back to waiting, place kept.
    assert world.services.queue.position(world.support, call.sid).state is CallState.waiting
    call.press("2")
    mark = len(call.heard)
    call.press("4155550199#")
    assert "ending in 0 1 9 9" in call.heard_since(mark)
    call.press("1")
    assert call.ended


def test_calling_in_with_a_callback_pending_takes_that_place(world: World) -> None:
    world.twilio.dial("+14155550111", SUPPORT_NUMBER)
    ask_for_a_callback(world)
    again = world.twilio.dial(CALLER, SUPPORT_NUMBER)
    heard = again.heard_since(0)
    assert "You asked us to call you, and you're in the same place in the queue." in heard
    assert "There is 1 person ahead of you." in heard


def test_closed_callers_are_called_back_at_opening_in_order_ahead_of_later_callers(
    world: World, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC).timestamp()  # Tue 22:00 New York
    bob = Console(world.app, "bob")
    bob.set_state("available")  # signed in late: still nobody is called at night
    booked = []
    for caller in ("+14155550101", "+14155550102"):
        call = world.twilio.dial(caller, SUPPORT_NUMBER)
        assert "Sorry, Acme is closed right now." in call.heard_since(0)
        assert "To be called back when we open, press 2." in call.heard_since(0)
        call.press("2")
        assert f"ending in {' '.join(caller[-4:])}" in call.heard_since(0)
        mark = len(call.heard)
        call.press("1")
        assert "We'll call you back after we open" in call.heard_since(mark)
        assert call.ended
        booked.append(caller)
        clock.advance(60)
    silent = world.twilio.dial("+14155550103", SUPPORT_NUMBER)
    silent.stay_silent()  # no key: goodbye, nothing booked
    assert silent.ended
    world.dispatch()
    assert world.callbacks_to(booked[0]) == [], "nobody is called before opening"

    clock.now = datetime(2026, 11, 25, 13, 1, tzinfo=UTC).timestamp()  # Wed 08:01
    morning = world.twilio.dial("+14155550177", SUPPORT_NUMBER)
    assert "There are 2 people ahead of you." in morning.heard_since(0)
    world.dispatch()
    assert len(world.callbacks_to(booked[0])) == 1
    assert world.callbacks_to(booked[1]) == []
    assert morning.with_agent is None


def test_a_verified_caller_who_drops_is_called_back_in_turn_where_the_operator_asks(
    world: World,
) -> None:
    support = world.support
    offering = support.model_copy(
        update={"callbacks": support.callbacks.model_copy(update={"offer_when_dropped": True})}
    )
    calls = world.services.calls
    verified = world.twilio.dial(CALLER, SUPPORT_NUMBER)
    unverified = world.twilio.dial("+14155550102", SUPPORT_NUMBER)
    record = calls.get(verified.sid)
    calls.save(record.model_copy(update={"verification": "verified"}))

    assert world.services.call_end.end(offering, verified.sid).value == "callback"
    assert world.services.call_end.end(offering, unverified.sid).value == "held"
    # Off by default: the same drop only holds the place.
    third = world.twilio.dial("+14155550103", SUPPORT_NUMBER)
    calls.save(calls.get(third.sid).model_copy(update={"verification": "verified"}))
    assert world.services.call_end.end(support, third.sid).value == "held"
    # In its turn the callback is made to the number the verified caller called from.
    Console(world.app, "bob").set_state("available")
    world.dispatch()
    assert len(world.callbacks_to(CALLER)) == 1


def test_the_caller_can_cancel_on_the_callback_itself(world: World) -> None:
    asked = ask_for_a_callback(world)
    behind = world.twilio.dial("+14155550122", SUPPORT_NUMBER)
    world.twilio.phones.set(CALLER, PhoneBehaviour.parse("now", press="9"))
    Console(world.app, "bob").set_state("available")
    world.dispatch()
    [callback] = world.callbacks_to(CALLER)
    assert callback.wait_for(lambda c: c.ended, SETTLE_SECONDS)
    assert "I've cancelled your callback." in callback.heard_since(0)
    queue = world.services.queue
    # The place is gone: the caller behind is first (or already with bob, freed at once).
    position = queue.position(world.support, behind.sid)
    assert position.state is CallState.serving or position.people_ahead == 0, position
    assert world.services.callback_outcomes.counts(world.support)["cancelled"] == 1
    assert world.services.history.contact(callback.sid).call.outcome is Outcome.left
    # Bob is free for the caller behind, who is next.
    world.dispatch()
    assert world.eventually(
        lambda: queue.position(world.support, behind.sid).state is CallState.serving
    )
    assert asked.ended


def test_status_callbacks_late_duplicated_and_out_of_order_change_nothing(world: World) -> None:
    ask_for_a_callback(world)
    bob = Console(world.app, "bob")
    bob.set_state("available")
    world.dispatch()
    [callback] = world.callbacks_to(CALLER)
    assert callback.wait_for(lambda c: c.gather is not None, SETTLE_SECONDS)
    callback.stay_silent()
    queue = world.services.queue
    assert world.eventually(
        lambda: queue.position(world.support, callback.sid).state is CallState.serving
    )
    url = callback.status_callback_url
    assert url is not None
    before = world.services.callback_outcomes.counts(world.support)
    # While talking: a late "ringing" and an out-of-order "busy" for this very call.
    for status in ("ringing", "busy", "no-answer"):
        assert world.twilio.post(url, callback.base_params(status))[0] == 204
    assert queue.position(world.support, callback.sid).state is CallState.serving
    assert queue.agent(world.support, "bob").state is AgentState.on_call
    # The real end, then the same end again and a late "in-progress".
    for status in ("completed", "completed", "in-progress"):
        assert world.twilio.post(url, callback.base_params(status))[0] == 204
    assert queue.agent(world.support, "bob").state is AgentState.wrap_up
    assert world.services.history.contact(callback.sid).call.outcome is Outcome.answered
    assert world.services.callback_outcomes.counts(world.support) == before
    assert queue.snapshot(world.support).callbacks == 0


def test_refused_credentials_spend_no_try_and_keep_the_place(world: World) -> None:
    ask_for_a_callback(world)
    Console(world.app, "bob").set_state("available")
    with responses.RequestsMock() as twilio_api:
        twilio_api.post(
            re.compile(r".*/Calls\.json$"),
            status=401,
            json={"code": 20003, "message": "Authenticate", "status": 401},
        )
        for _ in range(world.support.callbacks.attempts + 1):
            assert world.services.dispatcher.dispatch(world.support) == []
    snapshot = world.services.queue.snapshot(world.support)
    assert (snapshot.callbacks, snapshot.ready) == (1, 1), "still pending, at the front"
    assert world.services.queue.agent(world.support, "bob").state is AgentState.available
    assert world.services.rest_faults.credentials_refused() is not None


ASK = """
name: ask to be called back
to: "+15005550006"
steps:
  - agent_phone: {endpoint: "+14155550101", answer: %(answer)s}
  - dial: {call: maria, from: "+14155550101"}
  - silence: maria
  - press: {call: maria, digits: "2"}
  - expect: {call: maria, heard: "ending in 0 1 0 1"}
  - press: {call: maria, digits: "1"}
  - expect: {call: maria, heard: "we'll call you when it's your turn", ended: true}
"""
CALLED_BACK = """
name: called back
to: "+15005550006"
steps:
  - called_back: {call: back, number: "+14155550101", timeout: 10}
  - expect: {call: back, heard: "calling you back, as you asked"}
  - silence: back
  - wait_for: {call: back, state: with_agent, timeout: 10}
  - expect: {call: back, with_agent: "+15005550101", agent_heard: "Callback."}
"""
MACHINE = """
name: a machine answers
to: "+15005550006"
steps:
  - called_back: {call: back, number: "+14155550101", timeout: 10}
  - wait_for: {call: back, state: ended, timeout: 10}
  - expect: {call: back, not_heard: "calling you back"}
"""


@pytest.mark.parametrize(("answer", "then"), [("now", CALLED_BACK), ("machine", MACHINE)])
def test_scenarios_drive_a_callback_through_the_stand_in(
    answer: str, then: str, world: World, tmp_path: Path
) -> None:
    """The stand-in's scenarios (its control API) play both sides: the caller asks, the
    worker calls back (here in-process), and `called_back` picks up the app's call."""
    ask, back = tmp_path / "ask.yml", tmp_path / "back.yml"
    ask.write_text(ASK % {"answer": answer})
    back.write_text(then)
    said: list[str] = []
    control = ControlClient(world.api)
    try:
        runner = ScenarioRunner(control, report=said.append)
        runner.run(load_scenario(ask))
        Console(world.app, "bob").set_state("available")
        world.dispatch()
        runner.run(load_scenario(back))
    finally:
        control.close()
    assert "  back: the app calls +14155550101 (call 1)" in said


def test_callback_webhooks_refuse_forged_malformed_and_oversized_requests(world: World) -> None:
    """Signature first (403), then the URL's queue, ticket, offer and agent (400), then the
    fields (400 / 413); nothing changes in the queue."""
    ask_for_a_callback(world)
    form = {
        "CallSid": "CA" + "2" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": SUPPORT_NUMBER,
        "To": CALLER,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
    }
    good = "/voice/callback-answer?queue=support&ticket=1&offer=2&agent=bob"
    post = world.twilio.post
    assert post(good, form, signature="forged")[0] == 403
    for url in (
        "/voice/callback-answer?queue=nowhere&ticket=1&offer=2&agent=bob",
        "/voice/callback-status?queue=support&ticket=one&offer=2&agent=bob",
        "/voice/callback-answer?queue=support&ticket=1&agent=bob",
        "/voice/callback-answer?queue=support&ticket=1&offer=2&agent=../bob",
    ):
        assert post(url, form)[0] == 400, url
    assert post(good, form | {"CallSid": "not-a-sid"})[0] == 400
    assert post(good, form | {"AnsweredBy": "x" * 33})[0] == 400
    assert post(good, form | {"Direction": "outbound-api" + " " * 3000})[0] in (400, 413)
    # The pending callback is untouched: still one, still at the front.
    snapshot = world.services.queue.snapshot(world.support)
    assert (snapshot.callbacks, snapshot.ready) == (1, 1)
