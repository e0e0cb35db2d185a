"""Numbers said from clips, as IVRs with sound files do: each language's words and rules
are data (`recordings.numbers`), and every number up to 999 must be composable at start."""

from __future__ import annotations

import pytest

from app import recordings
from app.settings import QUEUE_DIR, NumberClips, load_operator_config


def clips(words: dict[int, str], **rules: object) -> NumberClips:
    """Number clips whose transcripts are the words (each clip named after its word)."""

    def clip(text: str) -> dict[str, str]:
        return {"clip": text.replace(" ", "-") + ".wav", "text": text}

    data: dict[str, object] = {"words": {n: clip(t) for n, t in words.items()}}
    for name, value in rules.items():
        if isinstance(value, str):
            data[name] = clip(value)
        elif isinstance(value, dict):
            data[name] = {n: clip(t) for n, t in value.items()}
        else:
            data[name] = value
    return NumberClips.model_validate(data)


def said(numbers: NumberClips, n: int) -> str:
    return " ".join(clip.text for clip in recordings.number_clips(numbers, n))


LAO = clips(
    {0: "ສູນ", 1: "ໜຶ່ງ", 2: "ສອງ", 3: "ສາມ", 4: "ສີ່", 5: "ຫ້າ", 6: "ຫົກ", 7: "ເຈັດ", 8: "ແປດ",
     9: "ເກົ້າ", 10: "ສິບ", 20: "ຊາວ"},
    ten="ສິບ", hundred="ຮ້ອຍ", units_after_tens={1: "ເອັດ"},
)  # fmt: skip
THAI = clips(
    {0: "ศูนย์", 1: "หนึ่ง", 2: "สอง", 3: "สาม", 4: "สี่", 5: "ห้า", 6: "หก", 7: "เจ็ด", 8: "แปด",
     9: "เก้า", 10: "สิบ", 20: "ยี่สิบ"},
    ten="สิบ", hundred="ร้อย", units_after_tens={1: "เอ็ด"},
)  # fmt: skip
MANDARIN = clips(
    {0: "零", 1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九",
     10: "十"},
    ten="十", hundred="百", zero_after_hundred="零", count_ten_after_hundred=True,
)  # fmt: skip
ENGLISH = clips(
    {0: "zero", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
     8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen",
     14: "fourteen", 15: "fifteen", 16: "sixteen", 17: "seventeen", 18: "eighteen",
     19: "nineteen", 20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty",
     70: "seventy", 80: "eighty", 90: "ninety"},
    hundred="hundred",
)  # fmt: skip


@pytest.mark.parametrize(
    ("n", "lao"),
    [
        (0, "ສູນ"),
        (7, "ເຈັດ"),
        (10, "ສິບ"),
        (11, "ສິບ ເອັດ"),  # ten + "et", not ten + one
        (15, "ສິບ ຫ້າ"),
        (20, "ຊາວ"),  # a word of its own
        (21, "ຊາວ ເອັດ"),
        (34, "ສາມ ສິບ ສີ່"),
        (100, "ໜຶ່ງ ຮ້ອຍ"),
        (101, "ໜຶ່ງ ຮ້ອຍ ເອັດ"),
        (120, "ໜຶ່ງ ຮ້ອຍ ຊາວ"),
        (999, "ເກົ້າ ຮ້ອຍ ເກົ້າ ສິບ ເກົ້າ"),
    ],
)
def test_lao_numbers(n: int, lao: str) -> None:
    assert said(LAO, n) == lao


@pytest.mark.parametrize(
    ("n", "thai"), [(11, "สิบ เอ็ด"), (21, "ยี่สิบ เอ็ด"), (25, "ยี่สิบ ห้า"), (101, "หนึ่ง ร้อย เอ็ด")]
)
def test_thai_numbers(n: int, thai: str) -> None:
    assert said(THAI, n) == thai


@pytest.mark.parametrize(
    ("n", "mandarin"),
    [
        (10, "十"),
        (12, "十 二"),
        (20, "二 十"),
        (105, "一 百 零 五"),  # 零 between the hundred and a lone unit
        (110, "一 百 一 十"),  # after a hundred, ten is counted
        (115, "一 百 一 十 五"),
        (300, "三 百"),
    ],
)
def test_mandarin_numbers(n: int, mandarin: str) -> None:
    assert said(MANDARIN, n) == mandarin


@pytest.mark.parametrize(
    ("n", "english"),
    [(13, "thirteen"), (21, "twenty one"), (100, "one hundred"), (342, "three hundred forty two")],
)
def test_english_numbers(n: int, english: str) -> None:
    assert said(ENGLISH, n) == english


def test_indonesian_hundred_has_a_word_of_its_own() -> None:
    indonesian = clips(
        {0: "nol", 1: "satu", 2: "dua", 3: "tiga", 4: "empat", 5: "lima", 6: "enam", 7: "tujuh",
         8: "delapan", 9: "sembilan", 10: "sepuluh", 11: "sebelas", 12: "dua belas",
         100: "seratus"},
        ten="puluh", hundred="ratus",
    )  # fmt: skip
    assert said(indonesian, 100) == "seratus"
    assert said(indonesian, 112) == "seratus dua belas"
    assert said(indonesian, 230) == "dua ratus tiga puluh"


def test_beyond_999_the_digits_are_said_one_by_one() -> None:
    assert said(LAO, 1205) == "ໜຶ່ງ ສອງ ສູນ ຫ້າ"


def test_every_number_a_queue_says_can_be_composed_from_the_shipped_lao_clips() -> None:
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    lao = config.language("lo-LA").recordings
    assert lao is not None and lao.numbers is not None
    assert recordings.missing_number_words(lao.numbers) == []
    assert said(lao.numbers, 11) == "ສິບ ເອັດ"


def test_a_missing_word_is_named_with_the_numbers_that_need_it() -> None:
    words = {n: c.text for n, c in LAO.words.items() if n != 4}
    problems = recordings.missing_number_words(
        clips(words, ten="ສິບ", hundred="ຮ້ອຍ", units_after_tens={1: "ເອັດ"})
    )
    assert problems == [
        "no clip for 4 in numbers.words (needed for 4, 14, 24, 34, 40 and 266 more)"
    ]


def test_without_a_word_for_ten_the_tens_cannot_be_said() -> None:
    problems = recordings.missing_number_words(clips({n: str(n) for n in range(10)}))
    assert problems[0].startswith("no clip for numbers.ten (needed for 10, 11,")
