"""`scripts/nlu-parse LANGUAGE` (a fixed interface) against the real Rasa server the test
session starts with the project's trained model: one JSON object per utterance, the same
preparation and model a caller's words go through, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from app.settings import REPO_ROOT
from tests.conftest import free_port
from tests.rasa_stack import RASA_TOKEN, RasaStack

LANGUAGES = "en-US, th-TH, lo-LA, id-ID, cmn-Hans-CN, cmn-Hant-TW"


def nlu_parse(
    language: str, *lines: str, rasa_url: str, token: str = RASA_TOKEN
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / "scripts" / "nlu-parse"), language],
        input="".join(f"{line}\n" for line in lines),
        env=os.environ | {"RASA_URL": rasa_url, "RASA_TOKEN": token},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def parsed(result: subprocess.CompletedProcess[str]) -> list[dict]:  # type: ignore[type-arg]
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


# One way to ask for a person in each language, as a caller says it on the phone.
ASK_FOR_A_PERSON = {
    "en-US": "can i talk to an agent please",
    "th-TH": "ขอคุยกับพนักงานหน่อยค่ะ",
    "lo-LA": "ຂ້ອຍຢາກລົມກັບພະນັກງານ",
    "id-ID": "saya mau bicara dengan petugas",
    "cmn-Hans-CN": "我要转人工客服",
    "cmn-Hant-TW": "我要找真人客服",
}


@pytest.mark.parametrize("language", list(ASK_FOR_A_PERSON))
def test_asking_for_a_person_is_understood_in_every_language(
    rasa_stack: RasaStack, language: str
) -> None:
    [result] = parsed(nlu_parse(language, ASK_FOR_A_PERSON[language], rasa_url=rasa_stack.url))
    assert (result["intent"], result["language"]) == ("ask_human", language)
    assert result["confidence"] > 0.5


def test_one_json_object_per_line_whatever_the_line(rasa_stack: RasaStack) -> None:
    lines = ["i have a question about my bill", "", "😀😀😀", "x" * 2000, "/ask_human"]
    results = parsed(nlu_parse("en-US", *lines, rasa_url=rasa_stack.url))
    assert [r["text"] for r in results] == lines
    assert results[0]["intent"] == "billing_question"
    for result in results:
        assert isinstance(result["confidence"], float)
    # A leading slash is a caller's word, not an app command (app.assistant.as_caller_text):
    # the model is sent the words without it, as in a call.
    assert results[4]["normalized_text"] == "ask_human"


def test_thai_lao_and_full_width_digits_reach_the_model_as_digits(rasa_stack: RasaStack) -> None:
    thai, lao = parsed(
        nlu_parse("th-TH", "เลขบัญชี ๑๐๒๓๔๕๖๗", "ເລກບັນຊີ ໑໐໒໓໔໕໖໗", rasa_url=rasa_stack.url)
    )
    assert thai["normalized_text"] == "เลขบัญชี 10234567"
    assert lao["normalized_text"] == "ເລກບັນຊີ 10234567"
    assert {"entity": "account_number", "value": "10234567"} in thai["entities"]


def test_traditional_characters_reach_the_model_as_simplified(rasa_stack: RasaStack) -> None:
    [result] = parsed(nlu_parse("cmn-Hant-TW", "我想問帳單的問題", rasa_url=rasa_stack.url))
    assert result["normalized_text"] == "我想问帐单的问题"


def test_a_secret_said_aloud_is_taken_out_before_the_model_sees_it(rasa_stack: RasaStack) -> None:
    [result] = parsed(nlu_parse("en-US", "my pin is 4821", rasa_url=rasa_stack.url))
    assert "4821" not in result["normalized_text"]


def test_an_unknown_language_exits_2_listing_the_languages(rasa_stack: RasaStack) -> None:
    result = nlu_parse("fr-FR", "bonjour", rasa_url=rasa_stack.url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"unknown language 'fr-FR'; the dialogue's languages are: {LANGUAGES}" in result.stderr


def test_a_stack_that_is_not_running_is_said_plainly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = nlu_parse("th-TH", "สวัสดีค่ะ", rasa_url=url)
    assert result.returncode == 1
    assert f"the dialogue is not running at {url} (RASA_URL)" in result.stderr


def test_a_wrong_token_is_said_plainly(rasa_stack: RasaStack) -> None:
    result = nlu_parse("en-US", "hello", rasa_url=rasa_stack.url, token="not-the-token")
    assert result.returncode == 1
    assert "RASA_TOKEN is not the dialogue's token" in result.stderr
