"""Hand-off to an agent, request by request: dispatch moves the live call through Twilio's
REST API (mocked with `responses`: Twilio is outside this machine), the caller's leg dials
the agent, the agent's leg hears the whisper, and no-answers put the caller back in front."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs

import pytest
import responses

from app.bootstrap import Services
from app.history import Outcome
from app.queue_service import AgentState, CallState
from app.settings import QueueSettings
from standin import SimulatedCall, SimulatedTwilio, new_call_sid
from tests.conftest import ACCOUNT_SID, CALLS_URL, PUBLIC_BASE_URL, SUPPORT_NUMBER, Clock


def redirected_to(rest: responses.RequestsMock) -> dict[str, str]:
    """CallSid -> URL of every call the app moved through the REST API."""
    moved = {}
    for sent in rest.calls:
        sid = CALLS_URL.match(sent.request.url).group(1)
        form = parse_qs(sent.request.body)
        assert form["Method"] == ["POST"]
        moved[sid] = form["Url"][0]
    return moved


def agent_leg(call: SimulatedCall, to: str) -> dict[str, str]:
    """What Twilio sends for the leg that rings the agent (`<Dial>`'s noun url)."""
    return {
        "CallSid": new_call_sid(),
        "ParentCallSid": call.sid,
        "AccountSid": ACCOUNT_SID,
        "From": call.from_,
        "To": to,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
    }


def dial_result(call: SimulatedCall, status: str) -> dict[str, str]:
    return call.base_params() | {"DialCallStatus": status, "DialCallSid": new_call_sid()}


def says(document: str) -> list[str]:
    return [say.text for say in ET.fromstring(document).iter("Say")]


def make_available(services: Services, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        agent = services.agents.get(agent_id)
        assert services.agent_desk.set_state(agent, AgentState.available) is not None


def test_a_waiting_caller_is_put_through_with_a_whisper_and_the_call_lands_in_history(
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    record = services.calls.get(call.sid)
    services.calls.save(
        record.model_copy(
            update={
                "verification": "verified",
                "verification_method": "pin",
                "verified_account": "10234567",
                "customer_name": "Maria Garcia",
                "reason": "billing",
            }
        )
    )
    make_available(services, "alice")
    clock.advance(125)

    offers = services.dispatcher.dispatch(support)

    assert [(o.call_sid, o.agent_id) for o in offers] == [(call.sid, "alice")]
    connect_url = redirected_to(twilio_rest)[call.sid]
    assert connect_url == f"{PUBLIC_BASE_URL}/voice/connect?agent=alice"
    assert services.queue.agent(support, "alice").state is AgentState.offered
    assert services.queue.position(support, call.sid).state is CallState.offered

    status, document = twilio.post(connect_url, call.base_params())
    assert status == 200
    root = ET.fromstring(document)
    assert says(document) == ["Thank you for waiting. I'm putting you through to an agent now."]
    dial = root.find("Dial")
    assert dial.get("action") == "/voice/dial-result?agent=alice"
    assert dial.get("timeout") == str(support.agent_ring_seconds)
    assert dial.get("answerOnBridge") == "true"
    client = dial.find("Client")
    assert client.text == "alice"

    status, whisper = twilio.post(client.get("url"), agent_leg(call, "client:alice"))
    assert status == 200
    assert says(whisper) == [
        "Verified caller, Maria Garcia.",
        "Calling about a billing question.",
        "Waited 2 minutes.",
    ]
    assert services.queue.agent(support, "alice").state is AgentState.on_call
    assert services.queue.position(support, call.sid).state is CallState.serving
    assert services.calls.handoff(call.sid).answered_by == "alice"

    clock.advance(300)
    status, after = twilio.post("/voice/dial-result?agent=alice", dial_result(call, "completed"))
    assert says(after) == ["Thank you for calling. Goodbye."]
    assert ET.fromstring(after).find("Hangup") is not None
    call.hang_up()

    alice = services.queue.agent(support, "alice")
    assert (alice.state, alice.call_sid) == (AgentState.wrap_up, call.sid)
    contact = services.history.contact(call.sid)
    assert contact.call.outcome is Outcome.answered
    assert contact.call.account == "10234567"
    assert contact.call.agent_id == "alice"
    assert contact.call.waited_seconds == pytest.approx(125)
    assert services.queue.snapshot(support).handle_times == [pytest.approx(300)]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_an_agent_who_does_not_answer_sends_the_caller_back_to_the_front(
    status: str,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    first = twilio.dial("+14155550101", SUPPORT_NUMBER)
    second = twilio.dial("+14155550102", SUPPORT_NUMBER)
    make_available(services, "alice")
    services.dispatcher.dispatch(support)
    jobs_before = services.jobs.rq_queue.count

    code, document = twilio.post("/voice/dial-result?agent=alice", dial_result(first, status))

    assert code == 200
    assert says(document) == [
        "Sorry, that agent couldn't take your call. You're still first in line."
    ]
    assert ET.fromstring(document).find("Redirect").text == "/voice/wait"
    position = services.queue.position(support, first.sid)
    assert (position.state, position.people_ahead) == (CallState.waiting, 0)
    assert services.queue.position(support, second.sid).people_ahead == 1
    # The agent who did not answer is not offered the next caller.
    assert services.queue.agent(support, "alice").state is AgentState.away
    assert services.jobs.rq_queue.count == jobs_before + 1  # another agent may be free
    make_available(services, "bob")
    offers = services.dispatcher.dispatch(support)
    assert [(o.call_sid, o.agent_id) for o in offers] == [(first.sid, "bob")]


def test_an_agent_who_talked_while_the_whisper_missed_the_offer_is_not_counted_a_no_answer(
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    """The whisper settles the offer; if it met a queue-store outage, the agent and caller
    were still put through. The dial's result then says they talked: served, not requeued."""
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    make_available(services, "alice")
    services.dispatcher.dispatch(support)
    talked = dial_result(call, "completed") | {"DialCallDuration": "95"}

    code, document = twilio.post("/voice/dial-result?agent=alice", talked)

    assert code == 200
    assert says(document) == ["Thank you for calling. Goodbye."]
    assert ET.fromstring(document).find("Hangup") is not None
    assert services.queue.position(support, call.sid).state is CallState.serving
    assert services.queue.agent(support, "alice").state is AgentState.on_call
    assert services.calls.handoff(call.sid).answered_by == "alice"


def test_a_caller_who_hangs_up_while_the_agent_rings_keeps_their_place_and_frees_the_agent(
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    make_available(services, "bob")
    clock.advance(10)
    make_available(services, "alice")  # bob has been idle longest
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    services.dispatcher.dispatch(support)
    assert services.queue.agent(support, "bob").state is AgentState.offered

    call.hang_up()

    assert services.queue.position(support, call.sid).state is CallState.unknown
    bob = services.queue.agent(support, "bob")
    assert bob.state is AgentState.available
    # Bob keeps his turn: still the longest idle, he gets the next caller.
    twilio.dial("+14155550109", SUPPORT_NUMBER)
    assert [o.agent_id for o in services.dispatcher.dispatch(support)] == ["bob"]
    assert services.history.contact(call.sid).call.outcome is Outcome.dropped


def test_a_call_that_ended_before_the_redirect_frees_the_agent_and_holds_the_place(
    twilio: SimulatedTwilio, services: Services, support: QueueSettings
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    make_available(services, "alice")
    with responses.RequestsMock() as rest:
        rest.post(
            CALLS_URL,
            status=400,
            json={
                "code": 21220,
                "message": "Call is not in-progress. Cannot redirect.",
                "more_info": "https://www.twilio.com/docs/errors/21220",
                "status": 400,
            },
        )
        assert services.dispatcher.dispatch(support) == []
    assert services.queue.agent(support, "alice").state is AgentState.available
    assert services.queue.position(support, call.sid).state is CallState.unknown
    back = twilio.dial("+14155550101", SUPPORT_NUMBER)
    assert "Welcome back. I've kept your place in the queue." in back.heard


def test_twilio_unreachable_leaves_caller_and_agent_as_they_were_and_fails_the_job(
    twilio: SimulatedTwilio, services: Services, support: QueueSettings
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    make_available(services, "alice")
    with responses.RequestsMock() as rest:
        rest.post(CALLS_URL, status=503, json={"code": 20503, "message": "down", "status": 503})
        with pytest.raises(Exception, match="503"):
            services.dispatcher.dispatch(support)
    assert services.queue.agent(support, "alice").state is AgentState.available
    position = services.queue.position(support, call.sid)
    assert (position.state, position.people_ahead) == (CallState.waiting, 0)


@pytest.mark.parametrize(
    ("status", "code"), [(401, 20003), (400, 21205)], ids=["credentials", "bad-url"]
)
def test_twilio_refusing_keeps_caller_and_agent_and_is_counted_not_retried(
    status: int, code: int, twilio: SimulatedTwilio, services: Services, support: QueueSettings
) -> None:
    first = twilio.dial("+14155550101", SUPPORT_NUMBER)
    second = twilio.dial("+14155550102", SUPPORT_NUMBER)
    make_available(services, "alice", "bob")
    with responses.RequestsMock() as rest:
        rest.post(CALLS_URL, status=status, json={"code": code, "message": "no", "status": status})
        assert services.dispatcher.dispatch(support) == []  # no exception: no job retry
        assert len(rest.calls) == 1, "one refusal stops the run: the next would be refused too"
    for agent in ("alice", "bob"):
        assert services.queue.agent(support, agent).state is AgentState.available
    for ahead, call in enumerate((first, second)):
        position = services.queue.position(support, call.sid)
        assert (position.state, position.people_ahead) == (CallState.waiting, ahead)
    [fault] = services.rest_faults.counts()
    assert (fault.operation, fault.kind, fault.code, fault.count) == (
        "redirect",
        "permanent",
        str(code),
        1,
    )
    assert (services.rest_faults.credentials_refused() is not None) == (code == 20003)


def test_a_lapsed_offer_marks_the_silent_agent_away_and_the_caller_goes_to_another(
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    make_available(services, "alice")
    services.dispatcher.dispatch(support)
    clock.advance(support.agent_ring_seconds + 31)  # nothing heard back: the lease lapses
    assert services.queue.agent(support, "alice").state is AgentState.away
    make_available(services, "bob")
    assert [(o.call_sid, o.agent_id) for o in services.dispatcher.dispatch(support)] == [
        (call.sid, "bob")
    ]
    # Alice's late answer changes nothing: the whisper tells her the caller is gone.
    _, whisper = twilio.post("/voice/whisper?agent=alice", agent_leg(call, "client:alice"))
    assert says(whisper) == ["The caller has hung up."]
    assert ET.fromstring(whisper).find("Hangup") is not None
    assert services.queue.agent(support, "bob").state is AgentState.offered


def test_connect_for_a_call_not_offered_to_that_agent_goes_back_to_waiting(
    twilio: SimulatedTwilio, services: Services
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    status, document = twilio.post("/voice/connect?agent=alice", call.base_params())
    assert status == 200
    assert ET.fromstring(document).find("Dial") is None
    assert ET.fromstring(document).find("Redirect").text == "/voice/wait"


@pytest.mark.parametrize(
    ("reach", "noun", "address"),
    [("bob", "Number", "+15005550101"), ("carol", "Sip", "sip:carol@agents.example.com")],
)
def test_agents_are_rung_where_the_operator_says(
    reach: str,
    noun: str,
    address: str,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    make_available(services, reach)
    services.dispatcher.dispatch(support)
    _, document = twilio.post(redirected_to(twilio_rest)[call.sid], call.base_params())
    element = ET.fromstring(document).find("Dial").find(noun)
    assert element.text == address
    assert element.get("url") == f"/voice/whisper?agent={reach}"


def test_hand_off_urls_refuse_a_missing_agent_and_forged_signatures(
    twilio: SimulatedTwilio, services: Services
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    status, _ = twilio.post("/voice/connect", call.base_params())
    assert status == 400
    status, _ = twilio.post("/voice/connect?agent=alice", call.base_params(), signature="forged")
    assert status == 403
    # The agent's id is signed with the URL: changing it breaks the signature.
    form = call.base_params()
    signature = twilio._validator.compute_signature(
        f"{PUBLIC_BASE_URL}/voice/connect?agent=alice", form
    )
    status, _ = twilio.post("/voice/connect?agent=bob", form, signature=signature)
    assert status == 403
    status, _ = twilio.post(
        "/voice/whisper?agent=alice", agent_leg(call, "client:alice") | {"ParentCallSid": "x"}
    )
    assert status == 400


def test_a_call_whose_end_was_never_reported_is_ended_when_twilio_says_so(
    twilio: SimulatedTwilio, services: Services, support: QueueSettings, clock: Clock
) -> None:
    gone = twilio.dial("+14155550101", SUPPORT_NUMBER)
    alive = twilio.dial("+14155550102", SUPPORT_NUMBER)
    behind = twilio.dial("+14155550103", SUPPORT_NUMBER)
    clock.advance(20 * 60)  # neither call has asked for anything since
    with responses.RequestsMock() as rest:
        for call, status in ((gone, "completed"), (alive, "in-progress")):
            rest.get(
                f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}.json",
                json={"sid": call.sid, "status": status},
            )
        rest.get(CALLS_URL, json={"sid": behind.sid, "status": "in-progress"})
        assert services.stale_calls.sweep() == 1
        # Asked once each; the live ones are not asked again until they go quiet again.
        assert services.stale_calls.sweep() == 0
        assert len(rest.calls) == 3
    assert services.queue.position(support, gone.sid).state is CallState.unknown
    # Held for the grace period like any dropped call: still counted ahead of later callers.
    assert services.queue.position(support, behind.sid).people_ahead == 2
    assert services.history.contact(gone.sid).call.outcome is Outcome.dropped
    back = twilio.dial("+14155550101", SUPPORT_NUMBER)  # the grace period still applies
    assert "Welcome back. I've kept your place in the queue." in back.heard


def test_a_caller_who_hangs_up_while_it_rings_does_not_send_the_agent_away(
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    make_available(services, "alice")
    services.dispatcher.dispatch(support)
    # Twilio asks the Dial's action (canceled), then sends the status callback.
    twilio.post("/voice/dial-result?agent=alice", dial_result(call, "canceled"))
    call.hang_up()
    assert services.queue.agent(support, "alice").state is AgentState.available
    assert services.history.contact(call.sid).call.outcome is Outcome.dropped
