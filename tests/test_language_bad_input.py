"""Odd speech on a call in another language never breaks it: another language than the
call's, emoji, mixed scripts, very long results, Thai or Lao numerals. The caller gets an
answer in their language (here the keypad menu: no dialogue runs in these tests), never a
5xx, and keeps their place."""

from __future__ import annotations

import pytest

from app.bootstrap import Services
from app.queue_service import CallState
from standin import SimulatedTwilio

REGIONAL = "+6621234567"
ODD = [
    "😀😀😀",
    "I want to talk about เน็ต หลุด 网络 ok",
    "บิลแพง" * 300,  # 1,800 characters: a long result, still under the field limit
    "๑๒๓๔๕๖๗๘",
    "໑໒໓໔໕໖໗໘",
    "   ",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("key", ["1", "2"], ids=["th-TH", "lo-LA"])
@pytest.mark.parametrize("said", ODD)
def test_odd_speech_gets_an_answer_in_the_calls_language_and_keeps_the_place(
    twilio: SimulatedTwilio, services: Services, key: str, said: str
) -> None:
    queue = services.config.queue_named("regional")
    call = twilio.dial("+66812345670", REGIONAL)
    call.press(key)  # the language
    language = queue.languages[int(key) - 1]
    call.press("1")  # talk to the assistant
    mark = len(call.heard)
    call.say(said)
    # No dialogue here: the keypad menu, or for nothing said "say it again", in the call's
    # language (Lao: from recordings).
    prompts = services.config.language(language).prompts
    heard = call.heard_since(mark)
    expected = prompts.reprompt if not said.strip() else prompts.keypad_menu
    assert expected.text in heard
    assert call.gather is not None
    position = services.queue.position(queue, call.sid)
    assert (position.state, position.people_ahead, position.language) == (
        CallState.waiting,
        0,
        language,
    )


def test_the_lao_option_of_the_menu_says_its_key_from_number_clips(
    twilio: SimulatedTwilio,
) -> None:
    call = twilio.dial("+8562055512345", REGIONAL)
    assert "ພາສາລາວ ກົດ ສອງ" in call.heard_since(0)  # "for Lao, press two"
    assert "numbers/2.wav" in " ".join(call.clips)
    call.press("2")
    mark = len(call.heard)
    call.stay_silent()  # past the greeting, into the wait loop
    # The wait menu's way to another language: "press nine".
    assert "ຖ້າຕ້ອງການປ່ຽນພາສາ ກົດ ເກົ້າ" in call.heard_since(mark)
