"""Choosing the language on a number that serves several: the place is taken first, the menu
offers each language in its own voice, the choice is remembered for the caller's number
(never for a withheld one), and 9 while waiting changes it mid-call, keeping the place."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import responses
import yaml
from flask import Flask

from app import create_app
from app.bootstrap import Services
from app.history import ContactHistory
from app.queue_service import AgentState
from app.settings import QueueSettings, Settings, SettingsError, load_operator_config
from standin import FlaskClientTransport, SimulatedTwilio, new_call_sid
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, SUPPORT_NUMBER, Clock
from tests.language_config import EN, TH, ZH, multilingual_settings, write_multilingual_files

SOMSAK = "+66812345678"


@pytest.fixture
def ml_app(
    settings: Settings, clock: Clock, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[Flask]:
    multilingual = multilingual_settings(settings, tmp_path)
    app = create_app({"SETTINGS": multilingual, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["queue_assistant"].close()


@pytest.fixture
def ml(ml_app: Flask) -> Services:
    return ml_app.extensions["queue_assistant"]


@pytest.fixture
def caller(ml_app: Flask) -> SimulatedTwilio:
    transport = FlaskClientTransport(ml_app.test_client())
    return SimulatedTwilio(transport, PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)


def queue(ml: Services) -> QueueSettings:
    return ml.config.queue_named("support")


def incoming(caller: SimulatedTwilio, from_: str) -> ET.Element:
    params = {
        "CallSid": new_call_sid(),
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "To": SUPPORT_NUMBER,
        "CallStatus": "ringing",
    }
    status, body = caller.post("/voice/incoming", params)
    assert status == 200
    return ET.fromstring(body)


def test_the_place_is_taken_before_the_menu_which_offers_each_language_in_its_own_voice(
    caller: SimulatedTwilio, ml: Services
) -> None:
    document = incoming(caller, SOMSAK)
    gather = document.find("Gather")
    assert gather is not None and gather.get("action") == "/voice/language"
    assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf"
    options = [(say.get("language"), say.get("voice"), say.text) for say in gather.iter("Say")]
    english, thai, mandarin = (ml.config.language(code) for code in (EN, TH, ZH))
    # <Say language> is the voice's own (cmn-TW for Taiwan's Mandarin, not its <Gather> code).
    assert options == [
        (english.say_language, english.voice, "For English, press 1."),
        (thai.say_language, thai.voice, "กด 2 สำหรับภาษาไทย"),
        (mandarin.say_language, mandarin.voice, "國語請按3。"),
    ]
    assert mandarin.say_language == "cmn-TW"
    # Counted from the first second: a later caller has them ahead, whatever they choose.
    snapshot = ml.queue.snapshot(queue(ml))
    assert (snapshot.line_length, snapshot.undecided) == (1, 1)


def test_the_chosen_language_greets_and_is_remembered_for_the_next_call(
    caller: SimulatedTwilio, ml: Services
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    assert "กด 2 สำหรับภาษาไทย" in call.heard
    mark = len(call.heard)
    call.press("2")
    heard = call.heard_since(mark)
    assert "สวัสดีค่ะ ดิฉันเป็นผู้ช่วยอัตโนมัติของ Acme" in heard
    assert "คุณเป็นคิวถัดไปค่ะ" in heard
    assert ml.calls.get(call.sid).language == TH
    assert ml.queue.position(queue(ml), call.sid).language == TH
    call.hang_up()

    again = caller.dial(SOMSAK, SUPPORT_NUMBER)
    # No menu: the number chose Thai last time.
    assert "For English, press 1." not in again.heard
    assert "สวัสดีค่ะ ดิฉันเป็นผู้ช่วยอัตโนมัติของ Acme" in again.heard_since(0)
    assert ml.queue.position(queue(ml), again.sid).language == TH


def test_a_withheld_number_is_asked_every_time(caller: SimulatedTwilio, ml: Services) -> None:
    for _ in range(2):
        call = caller.dial("anonymous", SUPPORT_NUMBER)
        assert "กด 2 สำหรับภาษาไทย" in call.heard
        call.press("3")
        assert "您好 我是Acme的虛擬助理。" in call.heard
        call.hang_up()
    assert ml.history.remembered_language("") is None


def test_no_key_or_a_wrong_key_offers_the_menu_once_more_then_the_default(
    caller: SimulatedTwilio, ml: Services
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("7")  # no such language
    assert call.heard.count("For English, press 1.") == 2
    mark = len(call.heard)
    call.stay_silent()
    heard = call.heard_since(mark)
    assert "Hi, I'm the virtual assistant for Acme." in heard
    assert ml.queue.position(queue(ml), call.sid).language == EN
    # Silence is not a choice: nothing is remembered for the number.
    assert ml.history.remembered_language(SOMSAK) is None


@pytest.mark.parametrize("keys", ["*", "#", "12", "99"])
def test_odd_keys_at_the_language_menu_never_break_the_call(
    caller: SimulatedTwilio, ml: Services, keys: str
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    status, body = caller.post(
        "/voice/language", call.base_params() | {"Digits": keys, "To": SUPPORT_NUMBER}
    )
    assert status == 200
    assert ET.fromstring(body).find("Gather").get("action") == "/voice/language"
    assert ml.queue.position(queue(ml), call.sid).people_ahead == 0


def test_zero_at_the_language_menu_is_a_person_in_the_default_language(
    caller: SimulatedTwilio, ml: Services
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("0")
    assert "connect you to the next available person" in call.heard_since(0)
    record = ml.calls.get(call.sid)
    assert record.wants_agent and record.language == EN


def test_choosing_never_raises_anyone_s_count(caller: SimulatedTwilio, ml: Services) -> None:
    first = caller.dial("+66810000001", SUPPORT_NUMBER)  # still choosing
    thai = caller.dial("+66810000002", SUPPORT_NUMBER)
    thai.press("2")
    assert "มีผู้รออยู่ก่อนคุณ 1 คน" in thai.heard  # the one choosing counts
    english = caller.dial("+66810000003", SUPPORT_NUMBER)
    english.press("1")
    assert "There is 1 person ahead of you." in english.heard
    first.press("2")  # Thai: the English caller no longer has them ahead
    assert ml.queue.position(queue(ml), english.sid).people_ahead == 0
    assert ml.queue.position(queue(ml), thai.sid).people_ahead == 1


def test_nine_while_waiting_changes_the_language_keeping_the_place(
    caller: SimulatedTwilio, ml: Services
) -> None:
    ahead = caller.dial("+66810000001", SUPPORT_NUMBER)
    ahead.press("1")
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("1")
    call.stay_silent()  # the wait loop: the wait menu names the language key
    assert "For another language, press 9." in call.heard
    mark = len(call.heard)
    call.press("9")
    assert "กด 2 สำหรับภาษาไทย" in call.heard_since(mark)
    mark = len(call.heard)
    call.press("2")
    heard = call.heard_since(mark)
    assert "ต่อจากนี้จะพูดภาษาไทยค่ะ" in heard
    assert "คุณเป็นคิวถัดไปค่ะ" in heard  # the English caller ahead is not in the Thai line
    assert call.gather is not None and call.gather.action == "/voice/turn"  # waiting
    assert ml.calls.get(call.sid).language == TH
    assert ml.history.remembered_language(SOMSAK) == TH


def test_after_a_change_the_assistant_hears_the_new_language_in_the_call_facts(
    caller: SimulatedTwilio, ml: Services, settings: Settings
) -> None:
    sent: list[dict[str, Any]] = []

    def message(request: Any) -> tuple[int, dict[str, str], str]:
        sent.append(json.loads(request.body)["metadata"])
        return 200, {}, json.dumps({"messages": [{"text": "ค่ะ"}], "slots": {}, "intent": {}})

    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("1")
    call.stay_silent()
    call.press("9")
    call.press("2")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rasa:
        rasa.add_callback(
            responses.POST, f"{settings.rasa_url}/webhooks/rest_state/webhook", message
        )
        call.press("1")  # the assistant, please
        call.say("อินเทอร์เน็ตใช้ไม่ได้ค่ะ")
    assert sent and sent[-1]["call"]["language"] == TH


def test_silence_at_the_menu_mid_call_keeps_the_language(
    caller: SimulatedTwilio, ml: Services
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("3")
    call.stay_silent()
    call.press("9")
    call.stay_silent()
    call.stay_silent()
    assert ml.calls.get(call.sid).language == ZH
    assert ml.queue.position(queue(ml), call.sid).language == ZH
    # Nothing changed, so nothing says it did.
    switched = ml.config.language(ZH).prompts.language_switched
    assert switched is not None and switched.text not in call.heard_since(0)


def test_zero_at_the_menu_mid_call_says_a_person_will_take_the_call(
    caller: SimulatedTwilio, ml: Services
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("2")
    call.stay_silent()
    call.press("9")
    mark = len(call.heard)
    call.press("0")
    heard = call.heard_since(mark)
    prompts = ml.config.language(TH).prompts
    assert prompts.person_requested.text in heard
    assert prompts.language_switched is not None
    assert prompts.language_switched.text not in heard
    assert ml.calls.get(call.sid).wants_agent


def test_a_call_back_within_grace_keeps_its_language_and_place(
    caller: SimulatedTwilio, ml: Services, clock: Clock
) -> None:
    caller.dial("+66810000001", SUPPORT_NUMBER).press("2")
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    call.press("2")
    call.drop()
    # Whatever the number chose since, the held place is Thai.
    ml.history.remember_language(SOMSAK, EN)
    clock.advance(30)
    back = caller.dial(SOMSAK, SUPPORT_NUMBER)
    heard = back.heard_since(0)
    assert "มีผู้รออยู่ก่อนคุณ 1 คน" in heard
    assert ml.queue.position(queue(ml), back.sid).language == TH


def test_dispatch_waits_for_the_choice_and_for_a_speaker(
    caller: SimulatedTwilio, ml: Services
) -> None:
    call = caller.dial(SOMSAK, SUPPORT_NUMBER)
    support = queue(ml)
    ml.queue.set_agent_state(support, "alice", AgentState.available, [EN])
    assert ml.queue.dispatch(support, 30) is None  # still choosing
    call.press("2")
    assert ml.queue.dispatch(support, 30) is None  # Alice speaks no Thai
    ml.queue.set_agent_state(support, "somchai", AgentState.available, [TH])
    offer = ml.queue.dispatch(support, 30)
    assert offer is not None and (offer.call_sid, offer.agent_id) == (call.sid, "somchai")


def test_the_remembered_language_is_kept_as_long_as_the_contact_history(
    redis_client: redis.Redis,
) -> None:
    history = ContactHistory(redis_client, retention_days=1)
    history.remember_language(SOMSAK, TH)
    assert history.remembered_language(SOMSAK) == TH
    assert 0 < redis_client.ttl(f"history:language:{SOMSAK}") <= 86400
    history.remember_language("", TH)  # withheld: nothing to key it by
    assert redis_client.keys("history:language:") == []


def test_an_unknown_language_in_the_queues_file_names_the_file_and_field(tmp_path: Path) -> None:
    operator_file, queues_file = write_multilingual_files(tmp_path)
    queues_file.write_text(
        queues_file.read_text(encoding="utf-8").replace("th-TH", "vi-VN"), encoding="utf-8"
    )
    with pytest.raises(SettingsError, match=r"queues.yml: queues\.0\.languages\.1: 'vi-VN'"):
        load_operator_config(operator_file, queues_file)


def test_a_menu_language_without_menu_words_names_the_file_and_field(tmp_path: Path) -> None:
    operator_file, queues_file = write_multilingual_files(tmp_path)
    operator = yaml.safe_load(operator_file.read_text(encoding="utf-8"))
    del operator["languages"][ZH]["prompts"]["language_switched"]
    operator_file.write_text(yaml.safe_dump(operator, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        SettingsError, match=r"operator.yml: languages.cmn-Hant-TW.prompts.language_switched"
    ):
        load_operator_config(operator_file, queues_file)


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        ([], "at least 1"),
        (["en-US", "en-US"], "listed twice"),
        (["english"], "pattern"),
        ([f"en-{c}A" for c in "ABCDEFGHIJ"], "at most 9"),
    ],
)
def test_bad_language_lists_are_refused(languages: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QueueSettings(name="q", languages=languages)
