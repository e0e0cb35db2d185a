"""Lao words spelt in Thai script for the NLU featurizers (dialogue/multilingual/lao_thai.py):
the Lao and Thai spellings of a shared word must come out the same, and nothing else changes.
Pure Python, so it runs in the fast loop."""

from __future__ import annotations

import unicodedata

import pytest

from dialogue.multilingual.lao_thai import in_thai_script


@pytest.mark.parametrize(
    ("lao", "thai"),
    [
        ("ເງິນ", "เงิน"),  # money: letter for letter
        ("ຈ່າຍ", "จ่าย"),  # pay: tone mark kept in place
        ("ໃຫ້", "ให้"),
        ("ຫຼາຍ", "หลาย"),  # subscript l
        ("ໝົດ", "หมด"),  # ໝ is two Thai letters; mai kon written nothing
        ("ໜ້າ", "หน้า"),
        ("ຍັງ", "ยัง"),  # Lao y is Thai ย, not its parallel ญ
        ("ຄົນ", "คน"),
        ("ຕົວ", "ตัว"),  # mai kon before ວ is Thai's ั
        ("ບໍ່", "บ่อ"),  # the vowel ໍ is อ, its tone mark written before it
        ("ຂໍ", "ขอ"),
        ("ອ່ານ", "อ่าน"),  # a real ອ keeps its tone mark after it
    ],
)
def test_a_lao_word_is_spelt_as_thai_writes_it(lao: str, thai: str) -> None:
    assert in_thai_script(lao) == thai


def test_text_that_is_not_lao_is_left_alone() -> None:
    assert in_thai_script("wifi 1234 เสีย PIN") == "wifi 1234 เสีย PIN"


def test_every_lao_character_becomes_thai_script() -> None:
    lao = [
        chr(code)
        for code in range(0x0E81, 0x0EDE)
        if unicodedata.name(chr(code), "").startswith("LAO ")
    ]
    assert len(lao) > 60
    for ch in lao:
        assert all(0x0E01 <= ord(out) <= 0x0E5B for out in in_thai_script(ch)), ch
