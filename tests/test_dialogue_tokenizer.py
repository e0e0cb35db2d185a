"""The NLU pipeline's tokenizer (dialogue/multilingual): normalisation and segmentation of
every caller language, run in the Rasa virtualenv where pythainlp, laonlp, jieba and opencc
live, offline (no network is reachable here, so a download would fail the test)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.rasa_stack import run_in_rasa_venv

pytestmark = pytest.mark.rasa  # needs the Rasa virtualenv

_SEGMENT = """
import json, sys
from dialogue.multilingual.normalize import normalize
from dialogue.multilingual.segment import words
out = []
for line in json.load(sys.stdin):
    text = normalize(line)
    out.append({"normalized": text, "words": [w for w, _ in words(text)],
                "offsets_ok": all(text[s:s + len(w)] == w for w, s in words(text))})
print(json.dumps(out, ensure_ascii=False))
"""


def segment(*lines: str) -> list[dict[str, Any]]:
    parsed: list[dict[str, Any]] = json.loads(run_in_rasa_venv(_SEGMENT, json.dumps(lines)))
    assert all(p["offsets_ok"] for p in parsed)
    return parsed


def test_thai_keeps_the_domain_words_whole() -> None:
    [thai] = segment("ต้องการคุยกับพนักงานค่ะ")
    assert thai["words"] == ["ต้องการ", "คุย", "กับ", "พนักงาน", "ค่ะ"]


def test_lao_is_segmented_into_words() -> None:
    [lao] = segment("ຂ້ອຍຢາກລົມກັບພະນັກງານ")
    assert lao["words"] == ["ຂ້ອຍ", "ຢາກ", "ລົມ", "ກັບ", "ພະນັກງານ"]


def test_traditional_chinese_becomes_simplified_and_is_segmented() -> None:
    traditional, simplified = segment("我想跟客服人員說話", "我想跟客服人员说话")
    assert traditional["normalized"] == simplified["normalized"] == "我想跟客服人员说话"
    assert traditional["words"] == ["我", "想", "跟", "客服", "人员", "说话"]


def test_thai_and_lao_numerals_are_read_as_digits() -> None:
    thai, lao = segment("บัญชี๑๐๒๓๔๕๖๗", "ເລກ ໑໐໒໓")
    assert thai["normalized"] == "บัญชี10234567" and thai["words"][-1] == "10234567"
    assert lao["words"] == ["ເລກ", "1023"]


def test_mixed_scripts_and_english_words_in_one_sentence() -> None:
    [mixed] = segment("wifi เสีย router 壞了 ok")
    assert mixed["words"] == ["wifi", "เสีย", "router", "坏", "了", "ok"]


def test_emoji_punctuation_and_empty_input_give_no_words() -> None:
    emoji, punctuation, empty = segment("😀😀", "?!...", "")
    assert emoji["words"] == punctuation["words"] == empty["words"] == []


def test_english_and_indonesian_split_on_spaces_keeping_dates_and_contractions() -> None:
    english, indonesian = segment("i'm free on 12/3, thanks", "saya mau bicara dengan CS dong")
    assert english["words"] == ["i'm", "free", "on", "12/3", "thanks"]
    assert indonesian["words"] == ["saya", "mau", "bicara", "dengan", "CS", "dong"]


def test_a_long_utterance_is_segmented_quickly_enough_to_finish() -> None:
    # A recogniser can return a long run-on result; the segmenters must not blow up on it.
    [long] = segment("ต้องการคุยกับพนักงาน" * 200)
    assert len(long["words"]) == 800


_TOKENIZE = """
import json, sys
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from dialogue.multilingual.tokenizer import MultilingualTokenizer

tokenizer = MultilingualTokenizer(MultilingualTokenizer.get_default_config())
message = Message(data={TEXT: sys.stdin.read()})
tokens = tokenizer.tokenize(message, TEXT)
text = message.get(TEXT)
print(json.dumps({"text": text, "tokens": [[t.text, text[t.start:t.end]] for t in tokens]},
                 ensure_ascii=False))
"""


def test_lao_tokens_are_spelt_in_thai_script_over_the_lao_that_was_said() -> None:
    # The featurizers share the Thai examples' words; offsets, and so entity values, and the
    # message text (the sentence embedding's input) keep the caller's Lao.
    said = "ເລກບັນຊີ ໑໒໓໔ ບໍ່ໄດ້ wifi เสีย"
    out = json.loads(run_in_rasa_venv(_TOKENIZE, said))
    assert out["text"] == "ເລກບັນຊີ 1234 ບໍ່ໄດ້ wifi เสีย"
    assert out["tokens"] == [
        ["เลกบันชี", "ເລກບັນຊີ"],
        ["1234", "1234"],
        ["บ่อได้", "ບໍ່ໄດ້"],
        ["wifi", "wifi"],
        ["เสีย", "เสีย"],
    ]
