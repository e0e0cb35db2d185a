"""Asking for a person is heard in every language, written with or without spaces."""

from __future__ import annotations

import pytest

from app.person_request import asks_for_a_person

ENGLISH = ["agent", "representative", "real person"]
THAI = ["พนักงาน", "เจ้าหน้าที่"]
LAO = ["ພະນັກງານ"]
CHINESE = ["转人工", "人工客服", "真人"]
INDONESIAN = ["operator", "orang asli", "customer service"]


@pytest.mark.parametrize(
    ("said", "words"),
    [
        ("Agent, please.", ENGLISH),
        ("can i talk to a real   person", ENGLISH),
        ("ผมอยากคุยกับพนักงานครับ", THAI),
        ("ขอสายเจ้าหน้าที่หน่อยค่ะ", THAI),
        ("ຂ້ອຍຢາກລົມກັບພະນັກງານ", LAO),
        ("我想转人工。", CHINESE),
        ("帮我转人工客服吧", CHINESE),
        ("mau ngomong sama customer service dong", INDONESIAN),
        ("saya mau bicara dengan orang asli ya", INDONESIAN),
    ],
)
def test_a_request_for_a_person_is_heard(said: str, words: list[str]) -> None:
    assert asks_for_a_person(said, words)


@pytest.mark.parametrize(
    ("said", "words"),
    [
        ("what's on the agenda", ENGLISH),
        ("my personal details", ["person"]),
        ("บิลเดือนนี้แพงมาก", THAI),
        ("我的账单有问题", CHINESE),
        ("berapa orang lagi di depan saya", INDONESIAN),
        ("", ENGLISH),
        ("what?!", ["?!", " "]),  # words of punctuation only match nothing
    ],
)
def test_other_words_are_not_a_request_for_a_person(said: str, words: list[str]) -> None:
    assert not asks_for_a_person(said, words)
