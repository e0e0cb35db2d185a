"""Which Twilio `<Say>` voices speak which language (the catalogue in `voices.yml`).

Twilio answers an invalid voice/language pair by failing the `<Say>` mid-call, so the pair is
checked at start instead: an operator's language key (the `<Gather>` code, such as
`cmn-Hant-TW`) and voice must be listed together here. The `<Say language>` is derived from
the voice, since for Chinese it differs from the `<Gather>` code (`cmn-TW`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).with_name("voices.yml")


@dataclass(frozen=True)
class SayLanguage:
    """A `<Say language>` value, the operator's language keys it serves, and its voices."""

    code: str
    serves: frozenset[str]
    voices: tuple[str, ...]


class VoiceError(ValueError):
    """The voice does not speak the language (the message says which voices do)."""


@cache
def catalogue() -> tuple[SayLanguage, ...]:
    data = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    return tuple(
        SayLanguage(code, frozenset(entry["serves"]), tuple(entry["voices"]))
        for code, entry in data.items()
    )


def say_language(voice: str) -> str:
    """The `<Say language>` a listed voice speaks."""
    for language in catalogue():
        if voice in language.voices:
            return language.code
    raise VoiceError(f"{voice!r} is not a Twilio voice listed in {CATALOGUE.name}")


def voices_for(language_key: str) -> tuple[str, ...]:
    """Every listed voice that speaks to callers of `language_key` (a `<Gather>` code)."""
    return tuple(
        voice
        for language in catalogue()
        if language_key in language.serves
        for voice in language.voices
    )


def check_voice(language_key: str, voice: str) -> str:
    """The `<Say language>` for `voice` speaking `language_key`; VoiceError if it cannot."""
    able = voices_for(language_key)
    if voice in able:
        return say_language(voice)
    if not able:
        raise VoiceError(
            f"no Twilio voice speaks {language_key} ({CATALOGUE.name}): leave voice out and "
            "give recordings for every line"
        )
    raise VoiceError(f"{voice!r} does not speak {language_key} (voices: {', '.join(able)})")
