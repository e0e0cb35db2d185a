"""The assistant's words in every language: dialogue/languages.yml and the actions that use it
(dates said and understood, account numbers said digit by digit), and the check that refuses
a domain or word list missing a language (dialogue/check_languages.py, run by
scripts/rasa-train before training).

Modules are imported as `dialogue....` (no rasa_sdk needed); fixed dates, no clock.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from app.settings import REPO_ROOT
from dialogue import check_languages
from dialogue.actions.dates import pick_offered_day, speak_date
from dialogue.actions.languages import call_language, supported_languages
from dialogue.actions.spoken_numbers import spoken_digits

LANGUAGES = ["en-US", "th-TH", "lo-LA", "id-ID", "cmn-Hans-CN", "cmn-Hant-TW"]
# The demo: Wednesday 25 November 2026; offered Thursday 26, Friday 27, Monday 30.
TODAY = date(2026, 11, 25)
OFFERED = [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)]
THU, FRI, MON = OFFERED


def test_the_dialogue_serves_the_six_gather_languages() -> None:
    assert supported_languages() == LANGUAGES


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("th-TH", "th-TH"),
        ("cmn-hant-tw", "cmn-Hant-TW"),  # case is not meaning
        (" id-ID ", "id-ID"),
        ("fr-FR", "en-US"),  # unknown: the default, never a reply in no language
        (None, "en-US"),
        (42, "en-US"),
    ],
)
def test_the_call_language_is_a_supported_code_or_the_default(sent: object, expected: str) -> None:
    assert call_language(sent) == expected


@pytest.mark.parametrize(
    ("language", "spoken"),
    [
        ("en-US", "Friday, November 27th"),
        ("th-TH", "วันศุกร์ที่ 27 พฤศจิกายน"),
        ("lo-LA", "ວັນສຸກ ທີ 27 ພະຈິກ"),
        ("id-ID", "Jumat, 27 November"),
        ("cmn-Hans-CN", "11月27日星期五"),
        ("cmn-Hant-TW", "11月27日星期五"),
    ],
)
def test_a_date_is_said_in_the_order_and_words_of_the_language(language: str, spoken: str) -> None:
    assert speak_date(FRI, language) == spoken


def test_english_ordinals_still_follow_the_day() -> None:
    said = [speak_date(date(2026, 12, d)).split()[-1] for d in (1, 2, 3, 11, 12, 13, 21, 22, 31)]
    assert said == ["1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "22nd", "31st"]


@pytest.mark.parametrize(
    ("language", "said", "chosen"),
    [
        ("th-TH", "พรุ่งนี้ได้ไหมคะ", THU),
        ("th-TH", "เอาวันศุกร์ครับ", FRI),
        ("th-TH", "วันที่ ๓๐ ค่ะ", MON),  # Thai numerals
        ("th-TH", "อันที่สองค่ะ", FRI),
        ("th-TH", "ขอเป็น friday นะ", FRI),  # English inside Thai
        ("lo-LA", "ມື້ອື່ນເຈົ້າ", THU),
        ("lo-LA", "ວັນສຸກ", FRI),
        ("lo-LA", "ວັນທີ ໓໐", MON),  # Lao numerals
        ("id-ID", "besok saja", THU),
        ("id-ID", "hari jumat bisa", FRI),
        ("id-ID", "tanggal 30 november", MON),
        ("id-ID", "yang terakhir", MON),
        ("cmn-Hans-CN", "明天可以吗", THU),
        ("cmn-Hans-CN", "后天吧", FRI),
        ("cmn-Hans-CN", "星期五", FRI),
        ("cmn-Hans-CN", "11月30日", MON),
        ("cmn-Hant-TW", "禮拜五可以嗎", FRI),
        ("cmn-Hant-TW", "週一", MON),
        ("cmn-Hant-TW", "第一個", THU),
    ],
)
def test_a_day_said_in_the_language_picks_the_offer(language: str, said: str, chosen: date) -> None:
    assert pick_offered_day(said, OFFERED, TODAY, language) == (chosen, True)


@pytest.mark.parametrize(
    ("language", "said", "result"),
    [
        ("th-TH", "วันอังคาร", (None, True)),  # a day, but not one on offer
        ("th-TH", "อะไรนะคะ", (None, False)),  # no day at all
        ("cmn-Hans-CN", "我不知道", (None, False)),
        ("id-ID", "hari selasa", (None, True)),
    ],
)
def test_a_day_not_on_offer_or_no_day(
    language: str, said: str, result: tuple[date | None, bool]
) -> None:
    assert pick_offered_day(said, OFFERED, TODAY, language) == result


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("th-TH", "เลขบัญชี หนึ่งศูนย์สองสาม สี่ห้าหกเจ็ด ค่ะ"),
        ("th-TH", "๑๐๒๓๔๕๖๗"),
        ("lo-LA", "ໜຶ່ງ ສູນ ສອງ ສາມ ສີ່ ຫ້າ ຫົກ ເຈັດ"),
        ("lo-LA", "໑໐໒໓໔໕໖໗"),
        ("id-ID", "nomor saya satu nol dua tiga empat lima enam tujuh"),
        ("cmn-Hans-CN", "我的账号是一零二三四五六七"),
        ("cmn-Hant-TW", "帳號是幺洞兩三四五六拐"),
        ("cmn-Hant-TW", "".join(chr(0xFF10 + int(d)) for d in "10234567")),  # full width
        ("th-TH", "one oh two three four five six seven"),  # English digits in a Thai call
    ],
)
def test_an_account_number_said_digit_by_digit_in_each_language(language: str, said: str) -> None:
    assert spoken_digits(said, language) == "10234567"


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("cmn-Hans-CN", "等一下"),  # 一 inside a word is not a number
        ("id-ID", "satu kali lagi"),  # a lone digit word is not a number
        ("th-TH", "ขอคุยกับพนักงาน"),
    ],
)
def test_a_lone_digit_word_is_not_a_number(language: str, said: str) -> None:
    assert spoken_digits(said, language) == ""


# --- the check that refuses a missing translation -------------------------------------------


def test_the_domain_and_words_have_every_language() -> None:
    assert check_languages.check() == []


def _copy_dialogue(tmp_path: Path) -> tuple[Path, Path]:
    domain = tmp_path / "domain.yml"
    words = tmp_path / "languages.yml"
    shutil.copy(check_languages.DOMAIN_FILE, domain)
    shutil.copy(check_languages.LANGUAGES_FILE, words)
    return domain, words


def _edit_responses(domain: Path, edit) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(domain.read_text(encoding="utf-8"))
    edit(data["responses"])
    domain.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _drop(responses: dict, name: str, language: str) -> None:  # type: ignore[type-arg]
    responses[name] = [v for v in responses[name] if check_languages.language_of(v) != language]


def test_a_missing_translation_names_file_language_and_response(tmp_path: Path) -> None:
    domain, words = _copy_dialogue(tmp_path)
    _edit_responses(domain, lambda responses: _drop(responses, "utter_greet", "lo-LA"))
    assert check_languages.check(domain, words) == [
        f"{domain}: lo-LA: utter_greet: no variation in this language"
    ]


def test_a_translation_with_other_placeholders_or_payload_is_refused(tmp_path: Path) -> None:
    domain, words = _copy_dialogue(tmp_path)

    def break_thai(responses: dict) -> None:  # type: ignore[type-arg]
        for variation in responses["utter_people_ahead_many"]:
            if check_languages.language_of(variation) == "th-TH":
                variation["text"] = variation["text"].replace("{people_ahead}", "{people}")
        for variation in responses["utter_handoff"]:
            if check_languages.language_of(variation) == "th-TH":
                variation.pop("custom")

    _edit_responses(domain, break_thai)
    problems = check_languages.check(domain, words)
    assert len(problems) == 3  # each of utter_handoff's two Thai variations, and the other
    assert any(
        p.startswith(
            f"{domain}: th-TH: utter_people_ahead_many: placeholders {{people}}, expected "
        )
        for p in problems
    )
    assert (
        f"{domain}: th-TH: utter_handoff: custom payload differs from the default "
        "language's" in problems
    )


def test_a_language_missing_words_is_refused(tmp_path: Path) -> None:
    domain, words = _copy_dialogue(tmp_path)
    data = yaml.safe_load(words.read_text(encoding="utf-8"))
    del data["languages"]["id-ID"]["hear"]["tomorrow"]
    data["languages"]["th-TH"]["speak"]["months"].pop()
    words.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert sorted(check_languages.check(domain, words)) == [
        f"{words}: id-ID: hear.tomorrow: missing",
        f"{words}: th-TH: speak.months: 12 names expected",
    ]


def _run_check(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPO_ROOT / "dialogue" / "check_languages.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_check_command_passes_on_the_repository_and_fails_naming_the_gap(
    tmp_path: Path,
) -> None:
    assert (_run_check().returncode, _run_check().stderr) == (0, "")
    domain, words = _copy_dialogue(tmp_path)
    _edit_responses(domain, lambda responses: _drop(responses, "utter_handoff", "cmn-Hant-TW"))
    result = _run_check("--domain", str(domain), "--languages", str(words))
    assert (result.returncode, result.stderr) == (
        1,
        f"{domain}: cmn-Hant-TW: utter_handoff: no variation in this language\n",
    )
