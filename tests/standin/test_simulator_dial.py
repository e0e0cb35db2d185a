"""<Dial> as the stand-in plays it, against a contact centre that checks every signature:
the agent's phone rings per its behaviour, the agent leg hears the whisper, the legs are
bridged, either side hangs up, and the Dial's action gets Twilio's parameters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from standin import LineState, SimulatedTwilio, SimulatorError
from standin.phones import PhoneBehaviour
from tests.conftest import ACCOUNT_SID
from tests.standin.twilio_standin import (
    CENTRE_NUMBER,
    ContactCentre,
    _response,
    contact_centre,
    simulated_twilio,
)

CALLER = "+14155550101"


@pytest.fixture
def centre() -> Iterator[tuple[ContactCentre, SimulatedTwilio]]:
    with contact_centre() as (contact, url):
        twilio = simulated_twilio(url)
        yield contact, twilio
        twilio.close()


def test_an_answered_dial_whispers_to_the_agent_then_bridges(centre) -> None:
    contact, twilio = centre
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    (whisper,) = contact.requests_to("/voice/whisper")
    agent = call.agent
    assert agent is not None
    assert whisper == {
        "CallSid": agent.sid,
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": "client:alice",
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
        "ApiVersion": "2010-04-01",
        "ParentCallSid": call.sid,
    }
    assert agent.heard == ["Verified caller, Maria."]
    assert call.with_agent == "client:alice" and call.state is LineState.bridged
    assert call.gather is None  # neither side is listening for input
    with pytest.raises(SimulatorError, match="with client:alice"):
        call.press("1")
    assert "Connecting you." in call.heard and "Verified caller, Maria." not in call.heard


def test_the_agent_hanging_up_runs_the_dial_action_on_the_caller(centre) -> None:
    contact, twilio = centre
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    agent = call.agent
    assert agent is not None
    call.agent_hang_up()
    (result,) = contact.requests_to("/voice/dial-result")
    assert result["CallSid"] == call.sid and result["CallStatus"] == "in-progress"
    assert (result["DialCallStatus"], result["DialBridged"]) == ("completed", "true")
    assert result["DialCallSid"] == agent.sid and int(result["DialCallDuration"]) >= 0
    # The action's TwiML ran on the caller's leg: goodbye, hang up, one status callback.
    assert call.heard[-1] == "Thanks for calling. Goodbye." and call.ended
    (status,) = contact.requests_to("/voice/status")
    assert (status["CallSid"], status["CallStatus"]) == (call.sid, "completed")
    assert agent.ended and agent.status == "completed"


@pytest.mark.parametrize(
    ("answer", "status"),
    [("never", "no-answer"), ("busy", "busy"), ("failed", "failed"), ("after 40s", "no-answer")],
)
def test_an_unanswered_dial_posts_the_action_and_the_caller_waits_again(
    centre, answer: str, status: str
) -> None:
    contact, twilio = centre
    twilio.phones.set("client:alice", PhoneBehaviour.parse(answer))
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    (result,) = contact.requests_to("/voice/dial-result")
    assert (result["DialCallStatus"], result["DialBridged"]) == (status, "false")
    assert "DialCallSid" not in result  # no leg was ever answered
    assert call.heard[-2:] == ["You are next in line.", "Still waiting."]
    assert call.gather is not None and call.gather.action == "/voice/turn"
    assert contact.requests_to("/voice/whisper") == []
    assert call.agent is None


def test_a_whisper_that_hangs_up_leaves_the_caller_unbridged(centre) -> None:
    contact, twilio = centre
    contact.documents["/voice/whisper"] = lambda form: _response(
        "<Say>The caller has hung up.</Say>", "<Hangup/>"
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    assert call.agent is not None and call.agent.heard == ["The caller has hung up."]
    assert call.agent.ended
    (result,) = contact.requests_to("/voice/dial-result")
    assert (result["DialCallStatus"], result["DialBridged"]) == ("no-answer", "false")
    assert call.with_agent is None and "You are next in line." in call.heard


def test_a_whisper_gather_is_answered_by_the_agents_phone(centre) -> None:
    contact, twilio = centre
    contact.documents["/voice/whisper"] = lambda form: _response(
        '<Gather numDigits="1" action="/voice/accept"><Say>Press 1 to accept.</Say></Gather>',
        "<Hangup/>",
    )
    contact.documents["/voice/accept"] = lambda form: (
        _response("<Say>Putting you through.</Say>")
        if form.get("Digits") == "1"
        else _response("<Hangup/>")
    )
    twilio.phones.set("client:alice", PhoneBehaviour.parse("now", press="1"))
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    (accept,) = contact.requests_to("/voice/accept")
    assert accept["Digits"] == "1" and accept["Direction"] == "outbound-dial"
    assert call.agent is not None
    assert call.agent.heard == ["Press 1 to accept.", "Putting you through."]
    assert call.with_agent == "client:alice"


def test_the_caller_hanging_up_while_bridged_requests_the_action_then_the_status(centre) -> None:
    contact, twilio = centre
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    agent = call.agent
    assert agent is not None
    mark = len(call.heard)
    code, _ = call.hang_up()
    assert code == 204
    assert contact.paths()[-2:] == ["/voice/dial-result", "/voice/status"]
    (result,) = contact.requests_to("/voice/dial-result")
    assert (result["CallStatus"], result["DialCallStatus"], result["DialBridged"]) == (
        "completed",
        "completed",
        "true",
    )
    assert call.heard_since(mark) == ""  # the action's TwiML was ignored
    assert agent.ended and call.ended
    assert len(contact.requests_to("/voice/status")) == 1
    with pytest.raises(SimulatorError, match="already ended"):
        call.hang_up()
    assert len(contact.requests_to("/voice/status")) == 1


def test_the_caller_hanging_up_during_the_whisper_ends_the_agents_leg(centre) -> None:
    contact, twilio = centre
    contact.documents["/voice/whisper"] = lambda form: _response(
        '<Gather numDigits="1" action="/voice/accept"><Say>Press 1.</Say></Gather>'
    )
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")  # the agent's leg waits at the whisper's Gather (step mode)
    assert call.state is LineState.ringing and call.agent is not None
    assert call.agent.gather is not None
    call.hang_up()
    (result,) = contact.requests_to("/voice/dial-result")
    assert (result["DialCallStatus"], result["DialBridged"]) == ("completed", "false")
    assert call.agent.ended and call.agent.status == "completed"


def test_a_dial_without_an_action_goes_on_with_the_next_verbs(centre) -> None:
    contact, twilio = centre
    contact.documents["/voice/turn"] = lambda form: _response(
        '<Dial callerId="+15005550006"><Number url="/voice/whisper">+15005550101</Number></Dial>',
        "<Say>The agent has gone.</Say>",
    )
    twilio.phones.set("+15005550101", PhoneBehaviour.parse("now"))
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    (whisper,) = contact.requests_to("/voice/whisper")
    assert (whisper["To"], whisper["From"]) == ("+15005550101", "+15005550006")
    call.agent_hang_up()
    assert call.heard[-1] == "The agent has gone." and call.ended


def test_a_sip_agent_and_the_status_callback_of_the_agents_leg(centre) -> None:
    contact, twilio = centre
    contact.documents["/voice/turn"] = lambda form: _response(
        '<Dial action="/voice/dial-result"><Sip url="/voice/whisper" '
        'statusCallback="/voice/leg-status">sip:carol@agents.example.com</Sip></Dial>'
    )
    contact.documents["/voice/leg-status"] = lambda form: ""
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    assert call.with_agent == "sip:carol@agents.example.com"
    call.agent_hang_up()
    (leg,) = contact.requests_to("/voice/leg-status")
    assert leg["CallStatus"] == "completed" and leg["ParentCallSid"] == call.sid
    assert leg["Direction"] == "outbound-dial"
