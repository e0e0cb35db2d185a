"""Times, days and counts as each language says them, all from the operator's YAML."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from app import speech
from app.settings import QUEUE_DIR, load_operator_config

CONFIG = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")


@pytest.mark.parametrize(
    ("language", "at", "said"),
    [
        ("en-US", time(8, 0), "8:00 AM"),
        ("en-US", time(14, 30), "2:30 PM"),
        ("en-US", time(0, 5), "12:05 AM"),
        ("th-TH", time(14, 30), "14.30"),  # the sentence adds น.
        ("id-ID", time(14, 30), "14.30"),
        ("id-ID", time(8, 0), "08.00"),
        ("cmn-Hans-CN", time(8, 0), "上午8点"),
        ("cmn-Hans-CN", time(14, 30), "下午2点30分"),
        ("cmn-Hans-CN", time(12, 0), "中午12点"),
        ("cmn-Hans-CN", time(20, 0), "晚上8点"),
        ("cmn-Hant-TW", time(13, 15), "下午1點15分"),
    ],
)
def test_a_time_of_day_is_said_as_the_language_says_it(language: str, at: time, said: str) -> None:
    assert speech.spoken_time(CONFIG.language(language), at) == said


def test_the_next_opening_names_the_day_in_the_callers_language() -> None:
    friday_evening = datetime(2026, 11, 27, 21, 0)
    monday_morning = datetime(2026, 11, 30, 8, 0)
    mandarin = CONFIG.language("cmn-Hans-CN")
    said = speech.next_opening_sentence(mandarin, friday_evening, monday_morning)
    assert said.text == "我们星期一上午8点恢复服务。"
    thai = CONFIG.language("th-TH")
    said = speech.next_opening_sentence(thai, friday_evening, monday_morning)
    assert said.text == "จะเปิดทำการอีกครั้ง วันจันทร์ เวลา 08.00 น. ค่ะ"
    indonesian = CONFIG.language("id-ID")
    said = speech.next_opening_sentence(indonesian, friday_evening, monday_morning)
    assert said.text == "Kami buka kembali hari Senin pukul 08.00."


@pytest.mark.parametrize(
    ("language", "count", "said"),
    [
        ("en-US", 1, "There is 1 person ahead of you."),
        ("en-US", 3, "There are 3 people ahead of you."),
        ("th-TH", 1, "มีผู้รอสายก่อนหน้าคุณ 1 คนค่ะ"),  # no plural: the classifier คน
        ("cmn-Hans-CN", 1, "您前面还有1位。"),  # no plural: a count takes 位
        ("cmn-Hant-TW", 2, "您前面還有2位。"),
        ("id-ID", 1, "Ada 1 orang di depan Anda."),  # no plural: orang
    ],
)
def test_counts_take_each_languages_form(language: str, count: int, said: str) -> None:
    lang = CONFIG.language(language)
    assert speech.people_ahead_sentence(lang, language, count).text == said
