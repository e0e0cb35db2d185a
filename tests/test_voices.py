"""Voices: every language is said by a Twilio voice that speaks it, or from recordings; a
wrong voice/language pair stops the start, naming the file and field, never a call."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from app import listening, twiml, voices
from app.settings import QUEUE_DIR, SettingsError, load_operator_config
from app.voice_reply import Reply, Say, Voice

OPERATOR = QUEUE_DIR / "operator.yml"
QUEUES = QUEUE_DIR / "queues.yml"
CONFIG = load_operator_config(OPERATOR, QUEUES)


def with_voice(tmp_path: Path, language: str, voice: str | None) -> Path:
    data = yaml.safe_load(OPERATOR.read_text(encoding="utf-8"))
    # A language the shipped file lacks is given English's words, to check its voice alone.
    lang = data["languages"].setdefault(language, dict(data["languages"]["en-US"]))
    if voice is None:
        lang.pop("voice", None)
    else:
        lang["voice"] = voice
    path = tmp_path / "operator.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_languages_are_said_by_voices_that_speak_them_or_recorded() -> None:
    for code, lang in CONFIG.operator.languages.items():
        if lang.voice is None:
            assert voices.voices_for(code) == (), code  # only where no voice exists
        else:
            assert lang.voice in voices.voices_for(code), code


@pytest.mark.parametrize(
    ("language", "voice", "say_language"),
    [
        ("en-US", "Polly.Joanna-Neural", "en-US"),
        ("en-US", "Google.en-US-Neural2-C", "en-US"),
        ("th-TH", "Google.th-TH-Standard-A", "th-TH"),
        ("th-TH", "Google.th-TH-Neural2-C", "th-TH"),
        ("th-TH", "Google.th-TH-Chirp3-HD-Kore", "th-TH"),
        ("id-ID", "Google.id-ID-Wavenet-D", "id-ID"),
        ("cmn-Hans-CN", "Polly.Zhiyu", "cmn-CN"),
        ("cmn-Hans-CN", "Polly.Zhiyu-Neural", "cmn-CN"),
        ("cmn-Hans-CN", "Google.cmn-CN-Wavenet-A", "cmn-CN"),
        ("cmn-Hant-TW", "Google.cmn-TW-Standard-C", "cmn-TW"),
    ],
)
def test_a_voice_speaks_its_language_and_gives_the_say_language(
    language: str, voice: str, say_language: str
) -> None:
    assert voices.check_voice(language, voice) == say_language


def test_chinese_is_recognised_with_its_script_and_said_with_its_region() -> None:
    lang = CONFIG.language("cmn-Hant-TW")
    voice = Voice("cmn-Hant-TW", lang)
    say = ET.fromstring(twiml.render(Reply((Say("您好"),), voice)))[0]
    assert (say.get("language"), say.get("voice")) == ("cmn-TW", lang.voice)
    question = listening.for_answer((Say("請問有什麼可以為您服務的"),))
    gather = ET.fromstring(twiml.render(Reply((question,), voice)))[0]
    assert gather.get("language") == "cmn-Hant-TW"
    assert gather[0].get("language") == "cmn-TW"


def test_a_voice_that_does_not_speak_the_language_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        load_operator_config(with_voice(tmp_path, "th-TH", "Polly.Joanna"), QUEUES)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'operator.yml'}: languages.th-TH.voice: ")
    assert "'Polly.Joanna' does not speak th-TH (voices: Google.th-TH-" in message


def test_a_voice_for_the_other_chinese_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"languages\.cmn-Hant-TW\.voice: 'Polly\.Zhiyu'"):
        load_operator_config(with_voice(tmp_path, "cmn-Hant-TW", "Polly.Zhiyu"), QUEUES)


def test_a_misspelt_voice_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"languages\.en-US\.voice: 'Polly\.Joana'"):
        load_operator_config(with_voice(tmp_path, "en-US", "Polly.Joana"), QUEUES)


def test_lao_has_no_voice_so_giving_it_one_stops_the_start(tmp_path: Path) -> None:
    assert voices.voices_for("lo-LA") == ()
    with pytest.raises(SettingsError, match=r"languages\.lo-LA\.voice: no Twilio voice speaks"):
        load_operator_config(with_voice(tmp_path, "lo-LA", "Google.th-TH-Standard-A"), QUEUES)


def test_a_language_without_a_voice_must_be_recorded(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        load_operator_config(with_voice(tmp_path, "id-ID", None), QUEUES)
    message = str(error.value)
    assert "languages.id-ID.prompts.greeting: no recording (id-ID has no voice" in message
    assert "languages.id-ID.day_names.0: no recording" in message
