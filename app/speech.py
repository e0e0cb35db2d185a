"""Sentences the app says, built from the operator's prompts for one language.

Nothing caller-facing is written here: the words come from queue/operator.yml. This module
only chooses which prompt applies (plural forms, rounding of minutes) and fills it in.
"""

from __future__ import annotations

import math
from datetime import datetime

from app.settings import LanguageSettings, Plural

# Languages whose numbers take no grammatical plural: every count uses `other`.
_NO_PLURAL = {"th", "lo", "zh", "id", "ms", "ja", "ko", "vi"}


def plural(prompt: Plural, count: int, language: str) -> str:
    """The form of `prompt` for `count` in `language` (CLDR's one/other, plus zero if given)."""
    if count == 0 and prompt.zero is not None:
        return prompt.zero
    base = language.split("-")[0].lower()
    if base not in _NO_PLURAL and count == 1 and prompt.one is not None:
        return prompt.one
    return prompt.other


def spoken_minutes(seconds: float) -> int:
    """Minutes as announced: whole minutes up to 10, then rounded to 5 (nobody can promise
    "about 23 minutes"); never rounded down to zero."""
    minutes = seconds / 60
    if minutes <= 10:
        return max(1, round(minutes))
    return max(10, 5 * math.floor(minutes / 5 + 0.5))


def people_ahead_sentence(lang: LanguageSettings, language: str, count: int) -> str:
    return plural(lang.prompts.people_ahead, count, language).format(count=count)


def wait_sentence(lang: LanguageSettings, language: str, seconds: float | None) -> str:
    if seconds is None:
        return lang.prompts.wait_unknown
    if seconds < 60:
        return lang.prompts.wait_under_a_minute
    minutes = spoken_minutes(seconds)
    return plural(lang.prompts.wait_minutes, minutes, language).format(minutes=minutes)


def next_opening_sentence(lang: LanguageSettings, now: datetime, opening: datetime) -> str:
    spoken_time = opening.strftime(lang.time_format)
    days = (opening.date() - now.date()).days
    if days == 0:
        return lang.prompts.next_opening_today.format(time=spoken_time)
    if days == 1:
        return lang.prompts.next_opening_tomorrow.format(time=spoken_time)
    day = lang.day_names[opening.weekday()]
    return lang.prompts.next_opening_later.format(day=day, time=spoken_time)


def whisper_sentences(
    lang: LanguageSettings,
    language: str,
    *,
    verified_name: str | None,
    reason: str | None,
    waited_seconds: float,
) -> list[str]:
    """What the agent hears on answering, before the caller is put through: who (if
    verified), why, and how long they waited (whole minutes, rounded down)."""
    prompts = lang.prompts
    sentences = [
        prompts.whisper_verified.format(name=verified_name)
        if verified_name
        else prompts.whisper_not_verified
    ]
    if reason:
        spoken = lang.reason_names.get(reason, reason.replace("_", " "))
        sentences.append(prompts.whisper_reason.format(reason=spoken))
    else:
        sentences.append(prompts.whisper_no_reason)
    minutes = max(0, int(waited_seconds // 60))
    sentences.append(plural(prompts.whisper_waited, minutes, language).format(count=minutes))
    return sentences
