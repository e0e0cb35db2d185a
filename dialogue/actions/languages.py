"""The call's language and the words actions say and understand in it (dialogue/languages.yml).

The `language` slot picks each response's variation (domain.yml). It follows the web app's
`call.language`, sent with every message, so a caller who switches language mid-call hears
the next reply in the new one (multilingual/call_language.py sets it, inside Rasa).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES_FILE = Path(__file__).resolve().parent.parent / "languages.yml"


@dataclass(frozen=True)
class Speak:
    weekdays: list[str]
    months: list[str]
    date: str
    day_suffixes: dict[int | str, str]


@dataclass(frozen=True)
class Hear:
    today: list[str]
    tomorrow: list[str]
    day_after_tomorrow: list[str]
    weekdays: list[list[str]]
    months: list[list[str]]
    options: list[list[str]]
    last_option: list[str]
    digits: dict[str, int]
    numerals: str
    numeric_dates: str


@dataclass(frozen=True)
class Language:
    code: str
    speak: Speak
    hear: Hear | None  # None: English, which has its own grammar


@cache
def _load() -> tuple[str, dict[str, Language]]:
    data: dict[str, Any] = yaml.safe_load(LANGUAGES_FILE.read_text(encoding="utf-8"))
    languages = {
        code: Language(
            code=code,
            speak=Speak(**entry["speak"]),
            hear=Hear(**entry["hear"]) if entry.get("hear") else None,
        )
        for code, entry in data["languages"].items()
    }
    return str(data["default"]), languages


def default_language() -> str:
    return _load()[0]


def supported_languages() -> list[str]:
    return list(_load()[1])


def call_language(code: object) -> str:
    """The supported language for a code from the app (case aside), else the default."""
    if isinstance(code, str):
        for known in _load()[1]:
            if known.lower() == code.strip().lower():
                return known
    return default_language()


def language(code: object) -> Language:
    return _load()[1][call_language(code)]
