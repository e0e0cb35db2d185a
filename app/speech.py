"""Sentences the app says, built from the operator's prompts for one language.

Nothing caller-facing is written here: the words come from queue/operator.yml. This module
only chooses which prompt applies (plural forms, rounding of minutes) and fills it in. Every
sentence the app says is made by `sentence`, and the assistant's replies by
`assistant_sentences`, so how a language is said is decided here: a line written as text is
said by the language's voice (`<Say>`), a recorded line is played from its clips, with
numbers, times and days composed from clips too (`app.recordings`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from app import recordings
from app.settings import Clip, LanguageSettings, Line, Placeholder, Plural, Recordings
from app.voice_reply import Say
from app.wait_announcement import AnnouncedKind, announce
from app.wait_estimate import WaitEstimate

log = logging.getLogger(__name__)

# Languages whose numbers take no grammatical plural: every count uses `other`.
_NO_PLURAL = {"th", "lo", "zh", "cmn", "id", "ms", "ja", "ko", "vi"}


@dataclass(frozen=True)
class Day:
    """A day of the week (0 is Monday), said with the language's `day_names`."""

    weekday: int


@dataclass(frozen=True)
class Digits:
    """Digits said one by one ("ending in 0 1 0 1"), by a voice or from the number clips."""

    digits: str

    def __post_init__(self) -> None:
        if not self.digits.isdecimal() or not self.digits.isascii():
            raise ValueError(f"not digits: {self.digits!r}")


def sentence(lang: LanguageSettings, line: Line, **values: object) -> Say:
    """`line` as said in `lang`, its placeholders filled with `values`: a number (int), a
    time of day, a `Day`, one of the operator's lines (said as written, or played), or free
    text (a name: a voice can say it, clips cannot)."""
    if line.recorded:
        clips = _played(lang, line, values)
        return Say(
            " ".join(clip.text for clip in clips),
            recording=tuple(recordings.clip_url(_recordings(lang), clip) for clip in clips),
        )
    return Say(line.text.format(**{name: _said(lang, value) for name, value in values.items()}))


def assistant_sentences(lang: LanguageSettings, texts: list[str]) -> tuple[Say, ...]:
    """The assistant's replies (its own words, from the dialogue's domain), as said: by the
    voice, or, in a language without one, as the reply's recording. A reply with no
    recording never reaches `<Say>` in a voice that cannot speak it."""
    if lang.voice is not None:
        return tuple(Say(text) for text in texts)
    said = []
    for text in texts:
        line = _recorded_reply(lang, text)
        if line is not None:
            said.append(line)
    return tuple(said)


def _recorded_reply(lang: LanguageSettings, text: str) -> Say | None:
    stored = _recordings(lang)
    matched = recordings.match_reply(stored.replies, text)
    if matched is None:
        log.warning("assistant reply has no recording, not said: %r", text)
        if stored.reply_not_recorded is None:
            return None
        return sentence(lang, stored.reply_not_recorded)
    numbers = {name: int(v) for name, v in matched.values.items() if v.strip().isdigit()}
    missing = set(_names(matched.reply.say)) - set(numbers)
    if missing:
        log.warning("assistant reply %r: %s not a number, not said", text, sorted(missing))
        return None
    return sentence(lang, matched.reply.say, **numbers)


def _names(line: Line) -> list[str]:
    return [part.name for part in line.parts if isinstance(part, Placeholder)]


# -- said by a voice ------------------------------------------------------------------------


def _said(lang: LanguageSettings, value: object) -> object:
    """A value as text for a voice (numbers stay numbers, for `{count:02}` and the like)."""
    match value:
        case bool():
            return str(value)
        case int():
            return value
        case time():
            return spoken_time(lang, value)
        case Day(weekday=weekday):
            return lang.day_names[weekday].text
        case Digits(digits=digits):
            return " ".join(digits)
        case Line():
            return value.text
    return value


def spoken_time(lang: LanguageSettings, at: time) -> str:
    """A time of day as the language writes it for its voice ("2:30 PM", "14.30 น.")."""
    period = _period(lang, at.hour)
    return _time_line(lang, at).text.format(
        hour24=at.hour,
        hour12=at.hour % 12 or 12,
        minute=at.minute,
        period=period.text if period is not None else "",
    )


def _time_line(lang: LanguageSettings, at: time) -> Line:
    if at.minute == 0 and lang.time_format.on_the_hour is not None:
        return lang.time_format.on_the_hour
    return lang.time_format.other


def _time_fields(lang: LanguageSettings, at: time) -> dict[str, int | Line | None]:
    # The same fields as spoken_time's, as values to play from clips.
    return {
        "hour24": at.hour,
        "hour12": at.hour % 12 or 12,
        "minute": at.minute,
        "period": _period(lang, at.hour),
    }


def _period(lang: LanguageSettings, hour: int) -> Line | None:
    """The part of the day `hour` is in: the period starting latest at or before it."""
    starts = [start for start in lang.periods if start <= hour]
    return lang.periods[max(starts)] if starts else None


# -- played from clips ----------------------------------------------------------------------


def _played(lang: LanguageSettings, line: Line, values: Mapping[str, object]) -> list[Clip]:
    clips: list[Clip] = []
    for part in line.parts:
        if isinstance(part, Clip):
            clips.append(part)
        elif part.name in values:
            clips += _value_clips(lang, values[part.name])
        else:
            raise KeyError(part.name)
    return clips


def _value_clips(lang: LanguageSettings, value: object) -> list[Clip]:
    match value:
        case bool():
            raise TypeError("a yes/no cannot be said")
        case int():
            numbers = _recordings(lang).numbers
            if numbers is None:
                raise ValueError("recorded lines say numbers, but recordings.numbers is missing")
            return recordings.number_clips(numbers, value)
        case time():
            fields = _time_fields(lang, value)
            said = {name: v for name, v in fields.items() if v is not None}
            return _played(lang, _time_line(lang, value), said)
        case Day(weekday=weekday):
            return _line_clips(lang, lang.day_names[weekday])
        case Digits(digits=digits):
            return [clip for digit in digits for clip in _value_clips(lang, int(digit))]
        case Line():
            return _line_clips(lang, value)
    if isinstance(value, str) and value.isdecimal():
        raise TypeError(f"{value!r} is a number written as text: pass it as an int")
    # Free text (a name) has no recording; the check at start keeps it out of recorded
    # lines, so this is a reason the operator has not named.
    log.warning("%r has no recording, left out", value)
    return []


def _line_clips(lang: LanguageSettings, line: Line) -> list[Clip]:
    if not line.recorded:
        log.warning("%r has no recording, left out", line.text)
        return []
    return _played(lang, line, {})


def _recordings(lang: LanguageSettings) -> Recordings:
    if lang.recordings is None:
        raise ValueError("a recorded line needs the language's recordings (base_url)")
    return lang.recordings


# -- the app's sentences ----------------------------------------------------------------------


def plural(prompt: Plural, count: int, language: str) -> Line:
    """The form of `prompt` for `count` in `language` (CLDR's one/other, plus zero if given)."""
    if count == 0 and prompt.zero is not None:
        return prompt.zero
    base = language.split("-")[0].lower()
    if base not in _NO_PLURAL and count == 1 and prompt.one is not None:
        return prompt.one
    return prompt.other


def people_ahead_sentence(lang: LanguageSettings, language: str, count: int) -> Say:
    return sentence(lang, plural(lang.prompts.people_ahead, count, language), count=count)


def wait_sentence(lang: LanguageSettings, language: str, wait: WaitEstimate | None) -> Say:
    if wait is None:
        return sentence(lang, lang.prompts.wait_unknown)
    said = announce(wait)
    match said.kind:
        case AnnouncedKind.under_a_minute:
            return sentence(lang, lang.prompts.wait_under_a_minute)
        case AnnouncedKind.range:
            return sentence(lang, lang.prompts.wait_range, low=said.low, high=said.high)
    prompt = plural(lang.prompts.wait_minutes, said.minutes, language)
    return sentence(lang, prompt, minutes=said.minutes)


def next_opening_sentence(lang: LanguageSettings, now: datetime, opening: datetime) -> Say:
    at = opening.time().replace(second=0, microsecond=0)
    days = (opening.date() - now.date()).days
    prompts = lang.prompts
    if days == 0:
        return sentence(lang, prompts.next_opening_today, time=at)
    if days == 1:
        return sentence(lang, prompts.next_opening_tomorrow, time=at)
    day = Day(opening.weekday())
    return sentence(lang, prompts.next_opening_later, day=day, time=at)


def whisper_sentences(
    lang: LanguageSettings,
    language: str,
    *,
    verified_name: str | None,
    reason: str | None,
    waited_seconds: float,
    callback: bool = False,
) -> list[Say]:
    """What the agent hears on answering, before the caller is put through: that it is a
    callback (if so), who (if verified), why, and how long they waited (whole minutes,
    rounded down; for a callback, since they first called)."""
    prompts = lang.prompts
    sentences = [sentence(lang, prompts.whisper_callback)] if callback else []
    sentences.append(
        sentence(lang, prompts.whisper_verified, name=verified_name)
        if verified_name
        else sentence(lang, prompts.whisper_not_verified)
    )
    if reason:
        spoken: Line | str = lang.reason_names.get(reason) or reason.replace("_", " ")
        sentences.append(sentence(lang, prompts.whisper_reason, reason=spoken))
    else:
        sentences.append(sentence(lang, prompts.whisper_no_reason))
    minutes = max(0, int(waited_seconds // 60))
    waited = plural(prompts.whisper_waited, minutes, language)
    sentences.append(sentence(lang, waited, count=minutes))
    return sentences
