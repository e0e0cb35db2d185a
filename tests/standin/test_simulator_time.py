"""Time and keys in the stand-in: real-time mode (a Gather left alone times out by itself,
music lasts, phones ring for their time) with a shrunk clock, and a Gather's numDigits and
finishOnKey. Outcomes are asserted, never wall-clock durations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from standin import LineState, SimulatedTwilio
from standin.phones import PhoneBehaviour
from standin.timing import Timing
from tests.standin.twilio_standin import (
    CENTRE_NUMBER,
    WAIT_SECONDS,
    ContactCentre,
    _response,
    contact_centre,
    simulated_twilio,
)

CALLER = "+14155550101"
# One simulated second is 10 ms: a 3-second Gather timeout takes 30 ms.
FAST = Timing(realtime=True, music_seconds=2.0, time_scale=0.01)


@pytest.fixture
def realtime() -> Iterator[tuple[ContactCentre, SimulatedTwilio]]:
    with contact_centre() as (contact, url):
        twilio = simulated_twilio(url, timing=FAST)
        yield contact, twilio
        twilio.close()


@pytest.fixture
def step() -> Iterator[tuple[ContactCentre, SimulatedTwilio]]:
    with contact_centre() as (contact, url):
        twilio = simulated_twilio(url)
        yield contact, twilio
        twilio.close()


def test_a_caller_left_alone_falls_through_to_the_wait_loop_round_after_round(realtime) -> None:
    contact, twilio = realtime
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    assert call.gather is not None  # the greeting listens first
    contact.wait_for("/voice/wait", count=3)
    assert call.heard.count("Still waiting.") >= 2
    assert contact.requests_to("/voice/turn") == []  # nothing was said or pressed
    call.hang_up()


def test_action_on_empty_result_posts_the_action_when_the_gather_times_out(realtime) -> None:
    contact, twilio = realtime
    contact.documents["/voice/incoming"] = lambda form: _response(
        '<Gather input="speech" action="/voice/turn" actionOnEmptyResult="true" timeout="2">'
        "<Say>What can I help you with?</Say></Gather>"
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    (turn,) = contact.wait_for("/voice/turn")
    assert "Digits" not in turn and "SpeechResult" not in turn
    assert call.wait_for(lambda c: "You said nothing." in c.heard, WAIT_SECONDS)
    call.hang_up()


def test_keys_short_of_num_digits_are_sent_when_the_timeout_passes(realtime) -> None:
    contact, twilio = realtime
    contact.documents["/voice/incoming"] = lambda form: _response(
        # A long timeout (0.5 s here) so that the second press surely comes in time.
        '<Gather action="/voice/turn" numDigits="4" timeout="50"><Say>Your PIN.</Say></Gather>'
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("12")
    assert call.gather is not None  # still listening for the rest
    call.press("3")
    (turn,) = contact.wait_for("/voice/turn")
    assert turn["Digits"] == "123"
    call.hang_up()


def test_an_agents_phone_rings_for_its_time_then_answers(realtime) -> None:
    contact, twilio = realtime
    twilio.phones.set("client:alice", PhoneBehaviour.parse("after 3s"))
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")  # "Connecting you." plays, then the agent's phone rings
    assert call.wait_for(lambda c: c.with_agent == "client:alice", WAIT_SECONDS)
    kinds = [e.kind for e in call.events]
    assert kinds.index("dialing") < kinds.index("agent_answered") < kinds.index("bridged")
    assert contact.requests_to("/voice/whisper")
    call.agent_hang_up()
    assert call.wait_for(lambda c: c.ended, WAIT_SECONDS)


def test_a_phone_nobody_answers_gives_no_answer_after_the_dial_timeout(realtime) -> None:
    contact, twilio = realtime
    twilio.phones.set("client:alice", PhoneBehaviour.parse("never"))
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    (result,) = contact.wait_for("/voice/dial-result")
    assert result["DialCallStatus"] == "no-answer"
    assert call.wait_for(lambda c: "You are next in line." in c.heard, WAIT_SECONDS)
    assert "agent_answered" not in [e.kind for e in call.events]
    call.hang_up()


def test_a_redirect_cuts_the_music_short(realtime) -> None:
    contact, twilio = realtime
    contact.documents["/voice/incoming"] = lambda form: _response(
        '<Play loop="0">https://example.test/music.mp3</Play>', "<Say>After the music.</Say>"
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    assert call.state is LineState.playing
    call.redirect("/voice/moved")
    assert call.wait_for(lambda c: "You were moved." in c.heard, WAIT_SECONDS)
    assert "After the music." not in call.heard
    call.hang_up()


@pytest.mark.parametrize(
    ("gather", "keys", "digits", "lost"),
    [
        ('numDigits="1"', "123", "1", "23"),
        ('finishOnKey="#"', "4821#99", "4821", "99"),
        ('numDigits="8" finishOnKey="#"', "10234567#", "10234567", ""),
        ('finishOnKey=""', "12#", "12#", ""),
        ('finishOnKey="*" numDigits="3"', "1*", "1", ""),
    ],
)
def test_num_digits_and_finish_on_key_end_the_input_as_on_a_phone(
    step, gather: str, keys: str, digits: str, lost: str
) -> None:
    contact, twilio = step
    contact.documents["/voice/incoming"] = lambda form: _response(
        f'<Gather action="/voice/turn" {gather}><Say>Keys please.</Say></Gather>'
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press(keys)
    (turn,) = contact.requests_to("/voice/turn")
    assert turn["Digits"] == digits
    assert [e.text for e in call.events if e.kind == "keys_lost"] == ([lost] if lost else [])


def test_only_the_finish_key_is_no_input(step) -> None:
    contact, twilio = step
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    contact.documents["/voice/incoming"] = lambda form: _response(
        '<Gather action="/voice/turn"><Say>Keys please.</Say></Gather>', "<Say>Nothing then.</Say>"
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("#")
    assert contact.requests_to("/voice/turn") == []
    assert call.heard[-1] == "Nothing then." and call.ended


def test_a_gather_with_method_get_is_requested_with_a_signed_query(step) -> None:
    contact, twilio = step
    contact.documents["/voice/incoming"] = lambda form: _response(
        '<Gather action="/voice/turn?from=greeting" method="GET" numDigits="1">'
        "<Say>Press a key.</Say></Gather>"
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("7")
    (turn,) = contact.requests_to("/voice/turn")
    assert turn["Digits"] == "7" and turn["from"] == "greeting"
    assert "You said 7." in call.heard
