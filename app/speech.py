"""Sentences the app says, built from the operator's prompts for one language.

Nothing caller-facing is written here: the words come from queue/operator.yml. This module
only chooses which prompt applies (plural forms, rounding of minutes) and fills it in. Every
sentence the app says is made by `sentence`, and the assistant's replies by
`assistant_sentences`, so how a language is said (a voice, or recordings) is decided here.
"""

from __future__ import annotations

import math
from datetime import datetime

from app.settings import LanguageSettings, Line, Plural
from app.voice_reply import Say

# Languages whose numbers take no grammatical plural: every count uses `other`.
_NO_PLURAL = {"th", "lo", "zh", "id", "ms", "ja", "ko", "vi"}


def sentence(lang: LanguageSettings, line: Line, **values: object) -> Say:
    """`line` as said in `lang`, its placeholders filled with `values`."""
    del lang  # every language is spoken by its voice for now
    return Say(line.text.format(**values))


def assistant_sentences(lang: LanguageSettings, texts: list[str]) -> tuple[Say, ...]:
    """The assistant's replies (its own words, from the dialogue's domain), as said."""
    del lang
    return tuple(Say(text) for text in texts)


def plural(prompt: Plural, count: int, language: str) -> Line:
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


def people_ahead_sentence(lang: LanguageSettings, language: str, count: int) -> Say:
    return sentence(lang, plural(lang.prompts.people_ahead, count, language), count=count)


def wait_sentence(lang: LanguageSettings, language: str, seconds: float | None) -> Say:
    if seconds is None:
        return sentence(lang, lang.prompts.wait_unknown)
    if seconds < 60:
        return sentence(lang, lang.prompts.wait_under_a_minute)
    minutes = spoken_minutes(seconds)
    return sentence(lang, plural(lang.prompts.wait_minutes, minutes, language), minutes=minutes)


def next_opening_sentence(lang: LanguageSettings, now: datetime, opening: datetime) -> Say:
    spoken_time = opening.strftime(lang.time_format)
    days = (opening.date() - now.date()).days
    prompts = lang.prompts
    if days == 0:
        return sentence(lang, prompts.next_opening_today, time=spoken_time)
    if days == 1:
        return sentence(lang, prompts.next_opening_tomorrow, time=spoken_time)
    day = lang.day_names[opening.weekday()]
    return sentence(lang, prompts.next_opening_later, day=day, time=spoken_time)


def whisper_sentences(
    lang: LanguageSettings,
    language: str,
    *,
    verified_name: str | None,
    reason: str | None,
    waited_seconds: float,
) -> list[Say]:
    """What the agent hears on answering, before the caller is put through: who (if
    verified), why, and how long they waited (whole minutes, rounded down)."""
    prompts = lang.prompts
    sentences = [
        sentence(lang, prompts.whisper_verified, name=verified_name)
        if verified_name
        else sentence(lang, prompts.whisper_not_verified)
    ]
    if reason:
        spoken = lang.reason_names.get(reason, reason.replace("_", " "))
        sentences.append(sentence(lang, prompts.whisper_reason, reason=spoken))
    else:
        sentences.append(sentence(lang, prompts.whisper_no_reason))
    minutes = max(0, int(waited_seconds // 60))
    waited = plural(prompts.whisper_waited, minutes, language)
    sentences.append(sentence(lang, waited, count=minutes))
    return sentences
