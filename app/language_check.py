"""The start-up check of one language's settings, beyond what each field says alone: the voice
speaks the language, every `{placeholder}` is one its sentence is given, and a language
without a voice has a recording for everything it can say (every line, every number, day
and time). Each problem is reported as `languages.<code>.<key>: what is wrong`.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import time

from app import recordings, voices
from app.settings import LanguageSettings, Line, PlaceholderKind, Plural, Prompts, TimeFormat

Kinds = dict[str, PlaceholderKind]


def language_problems(code: str, lang: LanguageSettings) -> list[str]:
    """Everything wrong with `lang` (the settings of language `code`); empty when it can be
    said in full."""
    problems: list[str] = []
    where = f"languages.{code}"
    if lang.voice is not None:
        try:
            voices.check_voice(code, lang.voice)
        except voices.VoiceError as exc:
            problems.append(f"{where}.voice: {exc}")
    needs: set[PlaceholderKind] = set()
    recorded = False
    for key, line, kinds in _lines(lang):
        problems += [f"{where}.{key}: {p}" for p in _placeholder_problems(line, kinds)]
        if line.recorded:
            recorded = True
            needs |= {kinds[p] for p in _safe_names(line) if p in kinds}
        elif lang.voice is None:
            problems.append(
                f"{where}.{key}: no recording ({code} has no voice, so every line is "
                "played from clips)"
            )
    problems += [f"{where}.{p}" for p in _recording_problems(lang, recorded, needs)]
    problems += [f"{where}.time_format: {p}" for p in _time_format_problems(lang)]
    return problems


def _lines(lang: LanguageSettings) -> Iterator[tuple[str, Line, Kinds]]:
    """Every line of a language, where it is in the YAML, and the placeholders it may use."""
    for name in type(lang.prompts).model_fields:
        value = getattr(lang.prompts, name)
        kinds = Prompts.PLACEHOLDERS.get(name, {})
        if isinstance(value, Line):
            yield f"prompts.{name}", value, kinds
        elif isinstance(value, Plural):
            for form, line in value.forms().items():
                yield f"prompts.{name}.{form}", line, kinds
    for i, day in enumerate(lang.day_names):
        yield f"day_names.{i}", day, {}
    for form in ("on_the_hour", "other"):
        said: Line | None = getattr(lang.time_format, form)
        if said is not None:
            yield f"time_format.{form}", said, TimeFormat.PLACEHOLDERS
    for hour, period in lang.periods.items():
        yield f"periods.{hour}", period, {}
    for reason, spoken in lang.reason_names.items():
        yield f"reason_names.{reason}", spoken, {}
    if lang.recordings is not None:
        for i, reply in enumerate(lang.recordings.replies):
            slots = {p: PlaceholderKind.number for p in _template_names(reply.text)}
            yield f"recordings.replies.{i}.say", reply.say, slots
        if lang.recordings.reply_not_recorded is not None:
            yield "recordings.reply_not_recorded", lang.recordings.reply_not_recorded, {}


def _template_names(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return set()


def _placeholders(line: Line) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(line.text) if name is not None]


def _placeholder_problems(line: Line, kinds: Kinds) -> list[str]:
    try:
        names = _placeholders(line)
    except ValueError as exc:
        return [f"{line.text!r} is not a valid sentence template ({exc}; write {{{{ for a brace)"]
    allowed = ", ".join("{" + k + "}" for k in kinds) or "none"
    problems = [
        f"{{{name}}} is not a placeholder of this sentence (placeholders: {allowed})"
        for name in names
        if name not in kinds
    ]
    if line.recorded:
        problems += [
            f"{{{name}}} is free text and cannot be said from clips: record it inside a clip "
            "or leave it out"
            for name in names
            if kinds.get(name) is PlaceholderKind.text
        ]
    return problems


def _recording_problems(
    lang: LanguageSettings, recorded: bool, needs: set[PlaceholderKind]
) -> list[str]:
    """What recorded lines need that is not recorded: where clips are, numbers, days and
    times' parts."""
    if not recorded:
        return []
    if lang.recordings is None:
        return ["recordings: some lines are recorded, but there is no recordings section"]
    problems = []
    if PlaceholderKind.time in needs:
        time_lines = [lang.time_format.other, lang.time_format.on_the_hour]
        if not all(line.recorded for line in time_lines if line is not None):
            problems.append("time_format: a recorded line says a time, so it must be recorded")
        needs.add(PlaceholderKind.number)
    if PlaceholderKind.day in needs and not all(day.recorded for day in lang.day_names):
        problems.append("day_names: a recorded line says a day, so every day must be recorded")
    numbers = lang.recordings.numbers
    if PlaceholderKind.number in needs or PlaceholderKind.digits in needs:
        if numbers is None:
            problems.append("recordings.numbers: recorded lines say numbers, but none are given")
        else:
            for word in recordings.missing_number_words(numbers):
                problems.append(f"recordings.numbers: {word}")
    return problems


def _time_format_problems(lang: LanguageSettings) -> list[str]:
    """A time format must say a time, and `{period}` needs periods from midnight on."""
    problems = []
    names = {
        name
        for line in (lang.time_format.other, lang.time_format.on_the_hour)
        if line is not None
        for name in _safe_names(line)
    }
    if not names & {"hour24", "hour12"}:
        problems.append(
            "says no hour: write a sentence with {hour24} or {hour12} and {minute} "
            "(a strftime pattern such as %H:%M is not used)"
        )
    if "period" in names and 0 not in lang.periods:
        problems.append("{period} is used, so periods must start at hour 0")
    for line in (lang.time_format.other, lang.time_format.on_the_hour):
        if line is not None and not line.recorded:
            problems += _text_format_problem(line)
    return problems


def _safe_names(line: Line) -> list[str]:
    try:
        return _placeholders(line)
    except ValueError:
        return []


def _text_format_problem(line: Line) -> list[str]:
    sample = time(14, 5)
    try:
        line.text.format(hour24=sample.hour, hour12=2, minute=sample.minute, period="")
    except (ValueError, KeyError, IndexError) as exc:
        return [f"{line.text!r} cannot be filled in ({exc})"]
    return []
