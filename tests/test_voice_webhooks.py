"""The voice front door through HTTP: what callers hear and what bad requests get."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.queue_service import CallState, QueueService
from app.settings import QueueSettings
from standin import SimulatedTwilio, new_call_sid
from tests.conftest import ACCOUNT_SID, SUPPORT_NUMBER, Clock


def queue_length(queue_service: QueueService, support: QueueSettings) -> int:
    return queue_service.snapshot(support).line_length


def voice_params(**changes: str) -> dict[str, str]:
    """The parameters Twilio sends with every voice request, for a new call."""
    params = {
        "CallSid": new_call_sid(),
        "AccountSid": ACCOUNT_SID,
        "From": "+14155550101",
        "To": SUPPORT_NUMBER,
        "CallStatus": "ringing",
    }
    return params | changes


def test_greeting_says_who_is_speaking_the_guarantee_people_ahead_and_the_wait(
    twilio: SimulatedTwilio,
) -> None:
    for i in range(4):
        twilio.dial(f"+1415555010{i}", SUPPORT_NUMBER)
    call = twilio.dial("+14155550199", SUPPORT_NUMBER)
    heard = " ".join(call.heard)
    assert "virtual assistant for Acme" in heard
    assert "place in the queue is guaranteed" in heard
    assert "There are 4 people ahead of you." in heard
    assert "can't estimate the wait yet" in heard
    assert "say agent or press 0" in heard
    assert call.gather is not None and call.gather.input == {"speech", "dtmf"}


def test_greeting_twiml_is_valid_xml_with_voice_and_language(client, twilio) -> None:
    status, body = twilio.post("/voice/incoming", voice_params())
    assert status == 200
    root = ET.fromstring(body)
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == "/voice/turn"
    says = gather.findall("Say")
    assert says and all(s.get("voice") and s.get("language") == "en-US" for s in says)
    assert root.find("Redirect").text == "/voice/wait"


def test_first_caller_hears_they_are_next(twilio: SimulatedTwilio) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    assert "You're next in line." in call.heard


def test_saying_agent_ends_the_assistant_and_keeps_the_place(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    twilio.dial("+14155550100", SUPPORT_NUMBER)
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    mark = len(call.heard)
    call.say("uh can i talk to an agent please")
    assert "connect you to the next available person" in call.heard_since(mark)
    assert call.gather is not None and call.gather.input == {"dtmf"}  # the wait loop
    assert queue_service.position(support, call.sid).people_ahead == 1


@pytest.mark.parametrize("words", ["representative", "operator", "a real person", "Person."])
def test_every_word_for_a_human_works(twilio: SimulatedTwilio, words: str) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    mark = len(call.heard)
    call.say(words)
    assert "next available person" in call.heard_since(mark)


def test_pressing_zero_at_the_greeting_asks_for_a_person(twilio: SimulatedTwilio, app) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    mark = len(call.heard)
    call.press("0")
    assert "next available person" in call.heard_since(mark)
    with app.app_context():
        from app.bootstrap import get_services

        assert get_services().calls.get(call.sid).wants_agent is True


def test_with_the_assistant_down_the_keypad_menu_records_the_reason_and_keeps_the_place(
    twilio: SimulatedTwilio,
    app,
    queue_service: QueueService,
    support: QueueSettings,
) -> None:
    # The test app's RASA_URL points at a closed port: the assistant is down.
    twilio.dial("+14155550100", SUPPORT_NUMBER)
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.say("my internet has been down since this morning", confidence=0.81)
    assert "Press 1 for billing, 2 for a technical problem" in call.heard[-1]
    mark = len(call.heard)
    call.press("2")
    assert "noted that for the agent" in call.heard_since(mark)
    assert call.gather is not None and call.gather.input == {"dtmf"}  # waiting
    with app.app_context():
        from app.bootstrap import get_services

        record = get_services().calls.get(call.sid)
        transcript = get_services().calls.transcript(call.sid)
    assert (record.reason, record.reason_source) == ("technical", "keypad")
    assert [(e.speaker, e.text, e.confidence) for e in transcript] == [
        ("caller", "my internet has been down since this morning", 0.81),
        ("caller", "[keypad menu: technical]", None),
    ]
    assert queue_service.position(support, call.sid).people_ahead == 1


def test_silence_at_the_greeting_goes_to_the_wait_loop(twilio: SimulatedTwilio) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.stay_silent()
    assert call.gather is not None and call.gather.input == {"dtmf"}
    assert call.played  # hold music


def test_wait_loop_announces_at_the_cadence_and_only_when_something_changed(
    twilio: SimulatedTwilio, clock: Clock, support: QueueSettings, queue_service: QueueService
) -> None:
    first = twilio.dial("+14155550100", SUPPORT_NUMBER)
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.stay_silent()
    mark = len(call.heard)
    # Within the cadence: no announcement.
    clock.advance(support.announce_every_seconds - 1)
    call.stay_silent()
    assert call.heard_since(mark) == ""
    # Cadence reached but nothing changed: still just music.
    clock.advance(2)
    call.stay_silent()
    assert call.heard_since(mark) == ""
    # The caller ahead drops and their hold expires: the number falls and is announced.
    first.hang_up()
    clock.advance(support.grace_period_seconds + 1)
    call.stay_silent()
    assert "You're next in line." in call.heard_since(mark)
    assert "Press 1 to talk to the assistant" in call.heard_since(mark)
    assert queue_service.position(support, call.sid).people_ahead == 0


def test_pressing_one_while_waiting_opens_the_assistant_again(twilio: SimulatedTwilio) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.stay_silent()
    mark = len(call.heard)
    call.press("1")
    assert "What can I help you with?" in call.heard_since(mark)
    assert call.gather is not None and "speech" in call.gather.input


def test_retried_incoming_webhook_gives_the_same_place(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    twilio.dial("+14155550100", SUPPORT_NUMBER)
    sid = new_call_sid()
    twilio.dial("+14155550101", SUPPORT_NUMBER, call_sid=sid)
    again = twilio.dial("+14155550101", SUPPORT_NUMBER, call_sid=sid)
    assert "There is 1 person ahead of you." in again.heard
    assert queue_length(queue_service, support) == 2


def test_dropped_caller_calls_back_and_hears_their_place_kept(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    for i in range(6):
        twilio.dial(f"+1415555020{i}", SUPPORT_NUMBER)
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.say("my bill is wrong")
    for i in range(3):
        twilio.dial(f"+1415555030{i}", SUPPORT_NUMBER)
    status, _ = call.hang_up()
    assert status == 204
    clock.advance(120)
    back = twilio.dial("+14155550101", SUPPORT_NUMBER)
    heard = " ".join(back.heard)
    assert "Welcome back. I've kept your place" in heard
    assert "There are 6 people ahead of you." in heard
    assert queue_length(queue_service, support) == 10


def test_withheld_caller_is_told_a_drop_cannot_be_restored(twilio: SimulatedTwilio) -> None:
    call = twilio.dial("anonymous", SUPPORT_NUMBER)
    assert any("number is withheld" in s for s in call.heard)


@pytest.mark.parametrize(
    "order",
    [
        ("ringing", "completed", "completed"),
        ("completed", "ringing"),
        ("completed", "in-progress", "busy"),
    ],
)
def test_status_callbacks_in_any_order_and_repeated_do_no_harm(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings, order
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    behind = twilio.dial("+14155550102", SUPPORT_NUMBER)
    for status in order:
        code, _ = twilio.post("/voice/status", call.base_params(status))
        assert code == 204
    position = queue_service.position(support, behind.sid)
    assert position.state is CallState.waiting and position.people_ahead == 1
    assert queue_service.snapshot(support).held == 1


def test_status_for_an_unknown_call_is_accepted_and_changes_nothing(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    twilio.dial("+14155550101", SUPPORT_NUMBER)
    params = voice_params(From="+14155550999", CallStatus="completed")
    code, _ = twilio.post("/voice/status", params)
    assert code == 204
    snap = queue_service.snapshot(support)
    assert (snap.line_length, snap.held) == (1, 0)


def test_turn_for_an_unknown_call_gives_it_a_place_instead_of_dropping_it(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    params = voice_params(From="+14155550999", CallStatus="in-progress", Digits="5")
    code, body = twilio.post("/voice/turn", params)
    assert code == 200 and "guaranteed" in body
    assert queue_length(queue_service, support) == 1


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", None])
def test_unsigned_or_forged_webhooks_are_refused_and_take_no_slot(
    twilio: SimulatedTwilio,
    client,
    queue_service: QueueService,
    support: QueueSettings,
    signature: str | None,
) -> None:
    params = voice_params()
    if signature is None:
        response = client.post("/voice/incoming", data=params)  # no header at all
        code = response.status_code
    else:
        code, _ = twilio.post("/voice/incoming", params, signature=signature)
    assert code == 403
    assert queue_length(queue_service, support) == 0


def test_signature_over_a_different_url_is_refused(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    params = voice_params()
    # Signed for the status URL, sent to the incoming URL: a replay to another endpoint.
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL

    forged = RequestValidator(AUTH_TOKEN).compute_signature(
        f"{PUBLIC_BASE_URL}/voice/status", params
    )
    code, _ = twilio.post("/voice/incoming", params, signature=forged)
    assert code == 403
    assert queue_length(queue_service, support) == 0


def test_tampered_parameters_break_the_signature(twilio: SimulatedTwilio, client) -> None:
    params = voice_params()
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL

    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        f"{PUBLIC_BASE_URL}/voice/incoming", params
    )
    params["From"] = "+14155559999"
    response = client.post(
        "/voice/incoming", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"CallSid": "not-a-sid"}, "CallSid"),
        ({"CallStatus": "exploded"}, "CallStatus"),
        ({"To": ""}, None),
    ],
)
def test_malformed_webhooks_get_400_with_the_reason_and_change_nothing(
    twilio: SimulatedTwilio,
    queue_service: QueueService,
    support: QueueSettings,
    changes: dict[str, str],
    field: str | None,
) -> None:
    params = voice_params(**changes)
    if field is None:
        params.pop("To")
    code, body = twilio.post("/voice/incoming", params)
    assert code == 400
    assert (field or "To") in body
    assert queue_length(queue_service, support) == 0


def test_malformed_gather_result_is_refused(twilio: SimulatedTwilio) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    code, body = twilio.post("/voice/turn", call.base_params() | {"Confidence": "high"})
    assert code == 400 and "Confidence" in body


def test_oversized_fields_are_refused_with_413(twilio: SimulatedTwilio, app) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    code, _ = twilio.post("/voice/turn", call.base_params() | {"SpeechResult": "word " * 1000})
    assert code == 413
    with app.app_context():
        from app.bootstrap import get_services

        assert get_services().calls.transcript(call.sid) == []


def test_oversized_body_is_refused_before_it_is_read(client) -> None:
    huge = {"CallSid": "x" * 100_000}
    # Without a signature nothing is read at all; with one, the body is too big to check.
    assert client.post("/voice/incoming", data=huge).status_code == 403
    response = client.post("/voice/incoming", data=huge, headers={"X-Twilio-Signature": "abc"})
    assert response.status_code == 413


def test_closed_centre_says_the_hours_and_next_opening_and_queues_nobody(
    twilio: SimulatedTwilio, clock: Clock, queue_service: QueueService, support: QueueSettings
) -> None:
    from datetime import UTC, datetime

    # Saturday 28 November 2026, 15:00 in New York: closed until Monday 08:00.
    clock.now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC).timestamp()
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    heard = " ".join(call.heard)
    assert "Acme is closed right now" in heard
    assert "We open again on Monday at 8:00 AM." in heard
    assert "To be called back when we open, press 2." in heard
    call.stay_silent()  # no callback wanted: goodbye
    assert call.heard[-1] == "Thank you for calling. Goodbye."
    assert call.ended
    assert queue_length(queue_service, support) == 0


def test_callers_already_waiting_at_closing_time_are_still_served(
    twilio: SimulatedTwilio, clock: Clock, queue_service: QueueService, support: QueueSettings
) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2026, 11, 25, 0, 59, tzinfo=UTC).timestamp()  # 19:59 New York
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    clock.advance(120)  # now closed
    call.stay_silent()
    assert call.gather is not None and not call.ended
    assert queue_service.position(support, call.sid).state is CallState.waiting


def test_first_round_of_the_wait_loop_explains_the_keys_once(twilio: SimulatedTwilio) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    mark = len(call.heard)
    call.stay_silent()
    assert call.heard_since(mark) == (
        "Press 1 to talk to the assistant, or 0 for a person. If you'd rather not hold, "
        "press 2 and we'll call you back when it's your turn."
    )
    mark = len(call.heard)
    call.stay_silent()
    assert call.heard_since(mark) == ""


def test_silence_after_a_question_is_reprompted_twice_then_the_caller_just_waits(
    twilio: SimulatedTwilio,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.stay_silent()  # to the wait loop
    call.press("1")
    assert call.heard[-1] == "What can I help you with?"
    assert call.gather is not None and call.gather.action_on_empty_result
    call.stay_silent()
    assert call.heard[-1] == "Sorry, I didn't catch that. Could you say it again?"
    call.stay_silent()
    assert call.heard[-1] == "Sorry, I didn't catch that. Could you say it again?"
    mark = len(call.heard)
    call.stay_silent()
    assert "I'll keep your place. Press 1 whenever" in call.heard_since(mark)
    assert call.gather is not None and call.gather.input == {"dtmf"}  # waiting, no loop


def test_speech_heard_with_low_confidence_is_asked_again_not_acted_upon(
    twilio: SimulatedTwilio,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.say("mumble mumble bill", confidence=0.12)
    assert call.heard[-1] == "Sorry, I didn't catch that. Could you say it again?"
    assert call.gather is not None and "speech" in call.gather.input


def test_a_spoken_pin_is_redacted_before_it_is_kept(twilio: SimulatedTwilio, app) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.say("my account is 10234567 and my pin is 4 8 2 1")
    with app.app_context():
        from app.bootstrap import get_services

        transcript = get_services().calls.transcript(call.sid)
    assert transcript[0].text == "my account is 10234567 and my pin is [redacted]"


def test_a_wait_request_that_arrives_after_the_call_ended_hangs_up_and_takes_no_place(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.hang_up()
    code, body = twilio.post("/voice/wait", call.base_params())
    assert code == 200 and "<Hangup" in body
    snap = queue_service.snapshot(support)
    assert (snap.line_length, snap.held, snap.ready) == (1, 1, 0)  # only the held place


@pytest.mark.parametrize("placeholder", ["+266696687", "+7378742833", "+86282452253", "+8656696"])
def test_twilios_withheld_placeholders_never_restore_each_others_places(
    twilio: SimulatedTwilio, placeholder: str
) -> None:
    stranger = twilio.dial(placeholder, SUPPORT_NUMBER)
    stranger.hang_up()
    other = twilio.dial(placeholder, SUPPORT_NUMBER)
    heard = " ".join(other.heard)
    assert "Welcome back" not in heard and "number is withheld" in heard


def test_after_an_unanswered_keypad_menu_pressing_one_opens_the_assistant(
    twilio: SimulatedTwilio,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.say("my bill is wrong")  # the assistant is down in the test app: keypad menu
    assert "Press 1 for billing" in call.heard[-1]
    call.stay_silent()  # no choice: back to waiting
    call.press("1")
    assert call.heard[-1] == "What can I help you with?"


def test_a_late_request_for_an_ended_call_is_hung_up_with_a_whole_document(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    params = voice_params()
    twilio.post("/voice/incoming", params)
    twilio.post("/voice/status", params | {"CallStatus": "completed"})
    status, body = twilio.post("/voice/incoming", params)
    root = ET.fromstring(body)
    assert status == 200
    assert root.tag == "Response" and [child.tag for child in root] == ["Hangup"]
    assert queue_service.position(support, params["CallSid"]).state is CallState.unknown
