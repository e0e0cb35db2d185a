"""Secrets said aloud are redacted before anything keeps or forwards the sentence: numbers a
secret word labels, in either order, spelled out, with fillers, and whole dates of birth, in
every supported language; identifiers (the account number) and ordinary numbers are kept.
While a secret is expected, every number goes (tests/test_spoken_secrets_at_calls.py shows
both layers on a call)."""

from __future__ import annotations

import pytest

from app.calls import CallRecord
from app.redaction import REDACTED, redact_all_numbers, redact_secrets, verification_expected

THIS_YEAR = 2026

# (said, what must not survive): the examples first.
MUST_GO = {
    "en": [
        ("hi my pin's 9090 and my birthday is january 1st 1968", ["9090", "1st", "1968"]),
        ("4821 is my pin", ["4821"]),
        ("pin, um, 4821", ["4821"]),
        ("my pin's 9090", ["9090"]),
        ("my pin is 4821", ["4821"]),
        ("my pin is 4 8 2 1", ["4 8 2 1"]),
        ("pin four eight two one", ["four eight two one"]),
        ("my passcode is oh one two three please", ["one two three"]),
        ("my PIN is, uh, it's four, eight, two, one", ["four", "eight", "two", "one"]),
        ("four eight two one, that's my pin", ["four eight two one"]),
        ("my pin is, let me see, 4821", ["4821"]),
        ("my password is 55 12", ["55 12"]),
        ("security code 771", ["771"]),
        ("my date of birth is 03141985", ["03141985"]),
        ("i was born 3 14 1985", ["3 14 1985"]),
        ("i was born on the first of january nineteen sixty eight", ["first", "sixty"]),
        ("dob 1/1/1968", ["1/1/1968"]),
        ("my birthday is the 4th of july 1975", ["4th", "1975"]),
        ("it's january 1st 1968", ["1st", "1968"]),
        ("the first of january nineteen sixty eight", ["first", "sixty eight"]),
        ("1/1/1968", ["1968"]),
        ("my zip code is 90210", ["90210"]),
        ("zip nine oh two one oh", ["nine oh two one oh"]),
        ("90210 is my zip", ["90210"]),
        ("my postcode is SW1A 1AA", ["SW1A", "1AA"]),
        ("postal code, er, 10001", ["10001"]),
        ("account 10234567 pin 4821", ["4821"]),
    ],
    "th": [
        ("รหัสผ่านของผมคือ 4821", ["4821"]),
        ("รหัสของผมคือสี่แปดสองหนึ่ง", ["สี่แปดสองหนึ่ง"]),
        ("4821 คือรหัสของผม", ["4821"]),
        ("พิน ๔๘๒๑ ครับ", ["๔๘๒๑"]),
        ("เอ่อ รหัสพิน เอ่อ 9090 ค่ะ", ["9090"]),
        ("วันเกิดของผมคือ 1 มกราคม 2511", ["2511", "1 มกราคม"]),
        ("ผมเกิดวันที่หนึ่งมกราคมหนึ่งเก้าหกแปด", ["หนึ่งมกราคม", "เก้าหกแปด"]),
        ("รหัสไปรษณีย์ 10110", ["10110"]),
    ],
    "lo": [
        ("ລະຫັດຂອງຂ້ອຍແມ່ນ 4821", ["4821"]),
        ("ລະຫັດຂອງຂ້ອຍແມ່ນສີ່ແປດສອງໜຶ່ງ", ["ສີ່ແປດສອງໜຶ່ງ"]),
        ("4821 ແມ່ນລະຫັດຂອງຂ້ອຍ", ["4821"]),
        ("ລະຫັດພິນ ໔໘໒໑", ["໔໘໒໑"]),
        ("ວັນເກີດຂອງຂ້ອຍແມ່ນ 1 ມັງກອນ 1968", ["1968", "1 ມັງກອນ"]),
        ("ລະຫັດໄປສະນີ 01000", ["01000"]),
    ],
    "id": [
        ("pin saya 4821", ["4821"]),
        ("pin saya empat delapan dua satu", ["empat delapan dua satu"]),
        ("4821 itu pin saya", ["4821"]),
        ("pinnya eh 9090", ["9090"]),
        ("kata sandi saya adalah 5512", ["5512"]),
        ("tanggal lahir saya 1 januari 1968", ["1 januari 1968"]),
        ("saya lahir tanggal satu januari seribu sembilan ratus enam puluh delapan", ["satu"]),
        ("kode pos saya 12345", ["12345"]),
    ],
    "zh": [
        ("我的密码是四八二一", ["四八二一"]),
        ("四八二一是我的密码", ["四八二一"]),
        ("密码\uff0c呃\uff0c4821", ["4821"]),  # full-width commas
        ("我的密碼是\uff14\uff18\uff12\uff11", ["\uff14\uff18\uff12\uff11"]),  # full-width digits
        ("我的生日是1968年1月1日", ["1968", "1月1"]),
        ("我的出生日期是一九六八年一月一日", ["一九六八", "一月一"]),
        ("邮编是100000", ["100000"]),
        ("郵遞區號是一零零", ["一零零"]),
    ],
}

# Numbers that are not secrets: the dialogue needs them.
MUST_STAY = {
    "en": [
        "my account number is 10234567",
        "there are 4 people in my house",
        "i called 3 times",
        "i forgot my pin",
        "i called 3 times about my pin",
        "my account number is 10234567 and my pin is wrong",
        "account 10234567",
        "10234567 is my account number",
        "can i move my appointment to january 5th 2027",
        "oh, i forgot my password",
        "i was born in may",
        "my internet has been down for 2 days",
    ],
    "th": [
        "เลขบัญชีของผมคือ 10234567",
        "บัญชี 10234567 ครับ",
        "รหัสผ่านสามารถเปลี่ยนได้ไหม",
        "บ้านผมมี 4 คน",
        "ผมโทรมา 3 ครั้งแล้ว",
    ],
    "lo": [
        "ເລກບັນຊີຂອງຂ້ອຍແມ່ນ 10234567",
        "ບັນຊີ 10234567",
        "ຂ້ອຍໂທມາ 3 ເທື່ອແລ້ວ",
    ],
    "id": [
        "nomor rekening saya 10234567",
        "akun saya 10234567",
        "saya sudah menelepon 3 kali",
        "saya lupa pin saya",
    ],
    "zh": [
        "我的账号是10234567",
        "我的帳號是一零二三四五六七",
        "我打了3次电话",
        "密码一直不对",
        "我家有4个人",
    ],
}


def _cases(table: dict[str, list[tuple[str, list[str]]]]) -> list[object]:
    return [
        pytest.param(said, gone, id=f"{lang}-{i}")
        for lang in table
        for i, (said, gone) in enumerate(table[lang])
    ]


@pytest.mark.parametrize(("said", "gone"), _cases(MUST_GO))
def test_secrets_said_aloud_are_redacted(said: str, gone: list[str]) -> None:
    kept = redact_secrets(said, this_year=THIS_YEAR)
    assert REDACTED in kept
    for secret in gone:
        assert secret not in kept, kept


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("my pin is 4821", "my pin is [redacted]"),
        ("4821 is my pin", "[redacted] is my pin"),
        ("pin, um, 4821", "pin, um, [redacted]"),
        ("account 10234567 pin 4821", "account 10234567 pin [redacted]"),
        (
            "hi my pin's 9090 and my birthday is january 1st 1968",
            "hi my pin's [redacted] and my birthday is [redacted]",
        ),
        ("我的密码是四八二一", "我的密码是[redacted]"),
    ],
)
def test_only_the_secret_is_taken_out(said: str, kept: str) -> None:
    assert redact_secrets(said, this_year=THIS_YEAR) == kept


@pytest.mark.parametrize(
    "said",
    [
        pytest.param(said, id=f"{lang}-{i}")
        for lang in MUST_STAY
        for i, said in enumerate(MUST_STAY[lang])
    ],
)
def test_other_numbers_are_kept(said: str) -> None:
    assert redact_secrets(said, this_year=THIS_YEAR) == said


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("it's 4821", "it's [redacted]"),
        ("four eight two one", "[redacted]"),
        ("january first nineteen sixty eight", "[redacted]"),
        ("สี่แปดสองหนึ่งครับ", "[redacted]ครับ"),
        ("四八二一", "[redacted]"),
        ("i forgot my pin", "i forgot my pin"),
        ("no thanks", "no thanks"),
    ],
)
def test_while_a_secret_is_expected_every_number_goes(said: str, kept: str) -> None:
    assert redact_all_numbers(said) == kept


def _record(**changes: object) -> CallRecord:
    fields: dict[str, object] = {
        "call_sid": "CA" + "0" * 32,
        "queue": "support",
        "language": "en-US",
        "started_at": 0.0,
    }
    return CallRecord.model_validate(fields | changes)


def test_a_secret_is_expected_at_the_secret_prompt_and_while_the_form_waits_for_it() -> None:
    assert verification_expected(_record(awaiting="secret"))
    assert verification_expected(_record(awaiting="answer", requested_slot="verification"))
    assert verification_expected(_record(awaiting=None, requested_slot="verification"))
    # The account number is an identifier: it must reach the dialogue.
    assert not verification_expected(_record(awaiting="digits", requested_slot="account_number"))
    assert not verification_expected(_record(awaiting="answer"))
