"""The stand-in's REST API through twilio-python's own client, pointed at it as the app
points it (`client.api.base_url`), against a contact centre that checks every signature."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from standin import SimulatedTwilio
from standin.phones import PhoneBehaviour
from standin.server import StandInServer
from tests.conftest import ACCOUNT_SID, PUBLIC_BASE_URL
from tests.standin.twilio_standin import (
    CENTRE_NUMBER,
    WAIT_SECONDS,
    ContactCentre,
    contact_centre,
    rest_client,
    stand_in,
)

CALLER = "+14155550101"


@pytest.fixture
def centre() -> Iterator[tuple[ContactCentre, str]]:
    with contact_centre() as pair:
        yield pair


@pytest.fixture
def setup(
    centre: tuple[ContactCentre, str],
) -> Iterator[tuple[ContactCentre, SimulatedTwilio, StandInServer, Client]]:
    contact, url = centre
    with stand_in(url) as (twilio, server), rest_client(server.url) as client:
        yield contact, twilio, server, client


def test_the_twilio_client_fetches_a_live_call_from_the_stand_in(setup) -> None:
    _, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    fetched = client.calls(call.sid).fetch()
    assert (fetched.sid, fetched.account_sid, fetched.status) == (
        call.sid,
        ACCOUNT_SID,
        "in-progress",
    )
    assert (fetched.to, fetched._from, fetched.direction, fetched.parent_call_sid) == (
        CENTRE_NUMBER,
        CALLER,
        "inbound",
        None,
    )
    assert fetched.start_time is not None and fetched.end_time is None
    assert fetched.api_version == "2010-04-01"
    assert fetched.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}.json"


def test_a_redirect_abandons_the_gather_the_call_was_parked_at(setup) -> None:
    contact, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    assert call.gather is not None
    updated = client.calls(call.sid).update(url=f"{PUBLIC_BASE_URL}/voice/moved", method="POST")
    assert updated.status == "in-progress"
    assert call.wait_for(lambda c: "You were moved." in c.heard, WAIT_SECONDS)
    assert call.wait_for(lambda c: c.gather is not None, WAIT_SECONDS)
    assert call.gather.action == "/voice/turn" and call.gather.num_digits is None
    (moved,) = contact.requests_to("/voice/moved")
    assert (moved["CallSid"], moved["CallStatus"]) == (call.sid, "in-progress")
    # The abandoned Gather never posted its action.
    assert contact.requests_to("/voice/turn") == []


def test_a_redirect_during_a_webhook_in_flight_drops_that_webhooks_twiml(setup) -> None:
    contact, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    release = contact.hold("/voice/turn")
    pressing = threading.Thread(target=call.press, args=("5",))
    pressing.start()
    contact.wait_for("/voice/turn")  # the request is in flight, held by the centre
    client.calls(call.sid).update(url=f"{PUBLIC_BASE_URL}/voice/moved")  # answers at once
    release.set()
    pressing.join(WAIT_SECONDS)
    assert not pressing.is_alive()
    assert "You were moved." in call.heard
    assert "You said 5." not in call.heard  # the held request's TwiML was dropped
    assert contact.paths()[-1] == "/voice/moved"


def test_a_redirect_with_inline_twiml(setup) -> None:
    _, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    client.calls(call.sid).update(twiml="<Response><Say>Inline words.</Say><Hangup/></Response>")
    assert call.wait_for(lambda c: c.ended, WAIT_SECONDS)
    assert call.heard[-1] == "Inline words."


def test_a_redirect_needs_a_url_or_a_document(setup) -> None:
    # The REST API never asks for one without either; a direct caller is told, and the
    # call stays where it was.
    _, twilio, _, _ = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    with pytest.raises(ValueError, match="a url or a document"):
        call.redirect()
    assert call.gather is not None
    assert all(e.kind != "redirected" for e in call.events)


def test_status_completed_ends_the_call_and_sends_the_status_callback_once(setup) -> None:
    contact, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    assert client.calls(call.sid).update(status="completed").status == "completed"
    (status,) = contact.wait_for("/voice/status")
    assert (status["CallSid"], status["CallStatus"]) == (call.sid, "completed")
    assert status["CallbackSource"] == "call-progress-events"
    assert status["SequenceNumber"] == "0" and status["Timestamp"].endswith("+0000")
    assert int(status["CallDuration"]) >= 0
    # Ending it again changes nothing and sends nothing.
    assert client.calls(call.sid).update(status="completed").status == "completed"
    fetched = client.calls(call.sid).fetch()
    assert fetched.end_time is not None and fetched.duration is not None
    assert len(contact.requests_to("/voice/status")) == 1


def test_twilios_errors_for_ended_and_unknown_calls(setup) -> None:
    _, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.hang_up()
    with pytest.raises(TwilioRestException) as ended:
        client.calls(call.sid).update(url=f"{PUBLIC_BASE_URL}/voice/moved")
    assert (ended.value.status, ended.value.code) == (400, 21220)
    assert "Call is not in-progress. Cannot redirect." in ended.value.msg
    unknown = "CA" + "0" * 32
    for attempt in (
        lambda: client.calls(unknown).fetch(),
        lambda: client.calls(unknown).update(url=f"{PUBLIC_BASE_URL}/voice/moved"),
    ):
        with pytest.raises(TwilioRestException) as missing:
            attempt()
        assert (missing.value.status, missing.value.code) == (404, 20404)
        assert f"/Calls/{unknown}.json was not found" in missing.value.msg


def test_wrong_credentials_get_401_with_twilios_error_body(setup) -> None:
    _, twilio, server, _ = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    with (
        rest_client(server.url, auth_token="not-the-token") as intruder,
        pytest.raises(TwilioRestException) as refused,
    ):
        intruder.calls(call.sid).update(status="completed")
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert not call.ended
    other_account = "AC" + "2" * 32
    response = requests.get(
        f"{server.url}/2010-04-01/Accounts/{other_account}/Calls/{call.sid}.json",
        auth=(ACCOUNT_SID, twilio.auth_token),
        timeout=WAIT_SECONDS,
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == 20003 and body["status"] == 401
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20003"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    unauthenticated = requests.get(f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
    assert unauthenticated.status_code == 401


def test_an_outbound_call_is_placed_answered_and_reports_its_end(setup) -> None:
    contact, twilio, _, client = setup
    created = client.calls.create(
        to=CALLER,
        from_=CENTRE_NUMBER,
        url=f"{PUBLIC_BASE_URL}/voice/callback",
        status_callback=f"{PUBLIC_BASE_URL}/voice/status",
        status_callback_event=["initiated", "answered", "completed"],
    )
    assert created.status == "queued" and created.direction == "outbound-api"
    (first,) = contact.wait_for("/voice/callback")
    assert (first["CallSid"], first["Direction"], first["CallStatus"]) == (
        created.sid,
        "outbound-api",
        "in-progress",
    )
    call = twilio.call(created.sid)
    assert call is not None
    assert call.wait_for(lambda c: c.gather is not None, WAIT_SECONDS)
    assert call.heard == ["This is the call back you asked for."]
    call.press("9")  # the customer presses 9: goodbye
    assert call.ended
    statuses = [f["CallStatus"] for f in contact.wait_for("/voice/status", 3)]
    assert statuses == ["queued", "in-progress", "completed"]
    assert [f["SequenceNumber"] for f in contact.requests_to("/voice/status")] == ["0", "1", "2"]
    assert client.calls(created.sid).fetch().status == "completed"


def test_a_created_call_is_queued_in_the_answer_even_if_its_phone_answers_first(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twilio answers POST Calls.json with the call queued, whatever its phone does next. The
    # ringing runs in the request's own thread here: the worst case of the race between it
    # and the REST answer.
    _, twilio, _, client = setup
    monkeypatch.setattr(twilio.background, "submit", lambda work: work())
    created = client.calls.create(
        to=CALLER, from_=CENTRE_NUMBER, url=f"{PUBLIC_BASE_URL}/voice/callback"
    )
    assert created.status == "queued"
    call = twilio.call(created.sid)
    assert call is not None and call.gather is not None  # answered and listening by now
    assert client.calls(created.sid).fetch().status == "in-progress"


@pytest.mark.parametrize(("answer", "status"), [("never", "no-answer"), ("busy", "busy")])
def test_an_outbound_call_nobody_answers_reports_why(setup, answer: str, status: str) -> None:
    contact, twilio, _, client = setup
    twilio.phones.set(CALLER, PhoneBehaviour.parse(answer))
    created = client.calls.create(
        to=CALLER,
        from_=CENTRE_NUMBER,
        twiml="<Response><Say>Hello</Say></Response>",
        status_callback=f"{PUBLIC_BASE_URL}/voice/status",
        timeout=15,
    )
    (callback,) = contact.wait_for("/voice/status")
    assert (callback["CallSid"], callback["CallStatus"]) == (created.sid, status)
    assert client.calls(created.sid).fetch().status == status
    assert contact.requests_to("/voice/callback") == []


def test_creating_a_call_without_to_or_url_is_refused(setup) -> None:
    _, _, _, client = setup
    with pytest.raises(TwilioRestException) as no_url:
        client.calls.create(to=CALLER, from_=CENTRE_NUMBER)
    assert (no_url.value.status, no_url.value.code) == (400, 21205)
    with pytest.raises(TwilioRestException) as relative:
        client.calls.create(to=CALLER, from_=CENTRE_NUMBER, url="/voice/callback")
    assert relative.value.code == 21205


def test_list_calls_filters_by_status(setup) -> None:
    _, twilio, _, client = setup
    live = twilio.dial(CALLER, CENTRE_NUMBER)
    gone = twilio.dial("+14155550102", CENTRE_NUMBER)
    gone.hang_up()
    assert [c.sid for c in client.calls.list(status="in-progress")] == [live.sid]
    assert {c.sid for c in client.calls.list()} == {live.sid, gone.sid}


def test_redirecting_a_bridged_call_requests_the_dial_action_then_the_new_url(setup) -> None:
    contact, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    assert call.with_agent == "client:alice"
    agent = call.agent
    client.calls(call.sid).update(url=f"{PUBLIC_BASE_URL}/voice/moved")
    assert call.wait_for(lambda c: "You were moved." in c.heard, WAIT_SECONDS)
    (result,) = contact.requests_to("/voice/dial-result")
    assert (result["DialCallStatus"], result["DialBridged"]) == ("completed", "true")
    # The action's TwiML ("Thanks for calling. Goodbye.") was ignored: the redirect won.
    assert "Thanks for calling. Goodbye." not in call.heard and not call.ended
    assert agent is not None and agent.ended and agent.status == "completed"
    assert contact.paths()[-2:] == ["/voice/dial-result", "/voice/moved"]


def test_the_agents_leg_is_a_call_resource_the_app_can_end(setup) -> None:
    contact, twilio, _, client = setup
    call = twilio.dial(CALLER, CENTRE_NUMBER)
    call.press("0")
    assert call.agent is not None
    leg = client.calls(call.agent.sid).fetch()
    assert (leg.parent_call_sid, leg.direction, leg.to, leg.status) == (
        call.sid,
        "outbound-dial",
        "client:alice",
        "in-progress",
    )
    assert [c.sid for c in client.calls.list(parent_call_sid=call.sid)] == [call.agent.sid]
    client.calls(call.agent.sid).update(status="completed")  # the app ends the agent's leg
    assert call.wait_for(lambda c: c.ended, WAIT_SECONDS)
    (result,) = contact.requests_to("/voice/dial-result")
    assert (result["DialCallStatus"], result["DialBridged"]) == ("completed", "true")
    assert call.heard[-1] == "Thanks for calling. Goodbye."
