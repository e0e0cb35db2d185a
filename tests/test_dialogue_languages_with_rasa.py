"""The assistant in every language, against the real Rasa server and action server the test
session starts: replies in the call's language (and in the new one after a switch mid-call),
callers understood in their own words and numerals, and bad input answered, never a 5xx."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from app.settings import REPO_ROOT
from tests.rasa_stack import RasaStack
from tests.test_dialogue_nlu_parse import ASK_FOR_A_PERSON

DOMAIN = yaml.safe_load((REPO_ROOT / "dialogue" / "domain.yml").read_text(encoding="utf-8"))
MARIA_ACCOUNT = "10234567"


def variations(response: str, language: str) -> set[str]:
    """The texts of a response in one language (English: the unconditioned ones)."""
    found = set()
    for variation in DOMAIN["responses"][response]:
        conditions = variation.get("condition") or []
        said_for = next((c["value"] for c in conditions if c.get("name") == "language"), None)
        if said_for == (None if language == "en-US" else language) and variation.get("text"):
            found.add(variation["text"])
    return found


class Caller:
    """One conversation through Rasa's REST channel, as the app holds it (dialogue/README.md)."""

    def __init__(self, stack: RasaStack, language: str) -> None:
        self.url = f"{stack.url}/webhooks/rest/webhook"
        self.sender = f"CA{uuid.uuid4().hex}"
        self.language = language

    def says(self, text: str, **facts: Any) -> list[dict[str, Any]]:
        call = {"language": self.language, "people_ahead": 4, "wait_minutes": 7} | facts
        response = requests.post(
            self.url,
            json={"sender": self.sender, "message": text, "metadata": {"call": call}},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()
        return replies


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if r.get("text")]


@pytest.mark.parametrize("language", list(ASK_FOR_A_PERSON))
def test_a_person_asked_for_in_each_language_is_answered_in_it(
    rasa_stack: RasaStack, language: str
) -> None:
    replies = Caller(rasa_stack, language).says(ASK_FOR_A_PERSON[language])
    [said] = texts(replies)
    assert said in variations("utter_handoff", language)
    assert {"handoff": True} in [r.get("custom") for r in replies]


@pytest.mark.parametrize(
    ("language", "how_long"),
    [
        ("th-TH", "อีกนานไหมคะ"),
        ("lo-LA", "ຕ້ອງລໍຖ້າດົນປານໃດ"),
        ("id-ID", "masih lama nggak ya"),
        ("cmn-Hans-CN", "还要等多久"),
        ("cmn-Hant-TW", "還要等多久"),
    ],
)
def test_how_long_is_answered_in_the_language_with_the_numbers(
    rasa_stack: RasaStack, language: str, how_long: str
) -> None:
    said = texts(Caller(rasa_stack, language).says(how_long, people_ahead=4, wait_minutes=7))
    ahead = {
        t.replace("{people_ahead}", "4") for t in variations("utter_people_ahead_many", language)
    }
    wait = {
        t.replace("{wait_minutes}", "7") for t in variations("utter_wait_minutes_many", language)
    }
    assert said[0] in ahead and said[1] in wait


def test_a_switch_of_language_mid_call_changes_the_next_reply(rasa_stack: RasaStack) -> None:
    caller = Caller(rasa_stack, "en-US")
    assert texts(caller.says("how long is the wait"))[0] in {
        t.replace("{people_ahead}", "4") for t in variations("utter_people_ahead_many", "en-US")
    }
    caller.language = "th-TH"  # the caller chose Thai on the keypad; the app says so
    assert texts(caller.says("อีกนานไหมคะ"))[0] in {
        t.replace("{people_ahead}", "4") for t in variations("utter_people_ahead_many", "th-TH")
    }


def test_english_words_in_a_thai_call_are_understood_and_answered_in_thai(
    rasa_stack: RasaStack,
) -> None:
    [said] = texts(Caller(rasa_stack, "th-TH").says("agent please"))
    assert said in variations("utter_handoff", "th-TH")


def test_an_account_number_in_thai_numerals_is_read_and_checked(rasa_stack: RasaStack) -> None:
    caller = Caller(rasa_stack, "th-TH")
    caller.says("มีคำถามเรื่องบิลค่ะ")
    asked = caller.says("ได้ค่ะ")  # yes, verify now
    assert {"expect": "digits", "max_digits": 12} in [r.get("custom") for r in asked]
    digits = "".join(chr(0x0E50 + int(d)) for d in MARIA_ACCOUNT)
    replies = caller.says(f"เลขบัญชี {digits} ค่ะ")
    assert {"collect_secret": "pin", "account_number": MARIA_ACCOUNT} in [
        r.get("custom") for r in replies
    ]
    assert texts(replies)[0] in variations("utter_ask_secret_pin", "th-TH")


@pytest.mark.parametrize("said", ["", "😀😀😀", "ก" * 3000, "สวัสดี hello 你好 ສະບາຍດີ", "๑๒๓", "?!"])
def test_bad_input_gets_a_reply_in_the_language_never_an_error(
    rasa_stack: RasaStack, said: str
) -> None:
    replies = Caller(rasa_stack, "lo-LA").says(said)
    for text in texts(replies):
        # Whatever was understood, the caller hears Lao: no English reply in a Lao call.
        assert not any("a" <= ch.lower() <= "z" for ch in text.replace("PIN", "")), text


def test_an_unknown_language_code_gets_english(rasa_stack: RasaStack, tmp_path: Path) -> None:
    [said] = texts(Caller(rasa_stack, "xx-XX").says("agent please"))
    assert said in variations("utter_handoff", "en-US")
