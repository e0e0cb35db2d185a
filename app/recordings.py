"""Saying things from recorded clips: numbers composed from number clips by the language's
rules (`NumberClips`), clip URLs, and the assistant's replies matched to their recordings.

Where no Twilio voice speaks a language (Lao), every sentence is a sequence of clips played
with `<Play>`, as IVRs with sound files do. The words and the rules are the operator's (the
YAML); this module only applies them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from app.settings import Clip, NumberClips, RecordedReply, Recordings

# Every number up to this is composed from the language's rules (checked at start); larger
# ones (unlikely in a queue) are said digit by digit.
COMPOSED_UP_TO = 999


class NotRecorded(LookupError):
    """A clip the rules need is missing (the message says which word)."""


def number_clips(numbers: NumberClips, n: int) -> list[Clip]:
    """The clips that say `n` (n >= 0)."""
    if n < 0:
        raise ValueError(f"cannot say {n}: only counts are said")
    if n > COMPOSED_UP_TO:
        return [_word(numbers, int(digit)) for digit in str(n)]
    return _up_to_999(numbers, n)


def _word(numbers: NumberClips, n: int) -> Clip:
    clip = numbers.words.get(n)
    if clip is None:
        raise NotRecorded(f"no clip for {n} in numbers.words")
    return clip


def _up_to_999(numbers: NumberClips, n: int) -> list[Clip]:
    if n in numbers.words:
        return [numbers.words[n]]
    if n < 100:
        return _below_100(numbers, n, after_hundred=False)
    hundreds, rest = divmod(n, 100)
    said = _multiple(numbers, hundreds, 100, numbers.hundred, "hundred")
    if rest == 0:
        return said
    if rest < 10 and numbers.zero_after_hundred is not None:
        return [*said, numbers.zero_after_hundred, _unit(numbers, rest)]
    return [*said, *_below_100(numbers, rest, after_hundred=True)]


def _below_100(numbers: NumberClips, n: int, *, after_hundred: bool) -> list[Clip]:
    if n < 10:
        return [_unit(numbers, n)] if after_hundred else [_word(numbers, n)]
    counted = after_hundred and numbers.count_ten_after_hundred
    if n in numbers.words and not (counted and n // 10 == 1):
        return [numbers.words[n]]
    tens, unit = divmod(n, 10)
    if counted:
        said = [_word(numbers, tens), _required(numbers.ten, "ten")]
    else:
        said = _multiple(numbers, tens, 10, numbers.ten, "ten")
    return [*said, _unit(numbers, unit)] if unit else said


def _multiple(
    numbers: NumberClips, count: int, size: int, word: Clip | None, name: str
) -> list[Clip]:
    """`count` tens or hundreds: its own word if recorded (20 ຊາວ, 100 seratus), else the
    count then the word for ten or hundred."""
    whole = numbers.words.get(count * size)
    if whole is not None:
        return [whole]
    return [_word(numbers, count), _required(word, name)]


def _unit(numbers: NumberClips, n: int) -> Clip:
    """A unit after a ten or a hundred: its own form there if the language has one."""
    return numbers.units_after_tens.get(n) or _word(numbers, n)


def _required(clip: Clip | None, name: str) -> Clip:
    if clip is None:
        raise NotRecorded(f"no clip for numbers.{name}")
    return clip


def missing_number_words(numbers: NumberClips) -> list[str]:
    """What stops some number up to COMPOSED_UP_TO from being said (empty: nothing)."""
    missing: dict[str, list[int]] = {}
    for n in range(COMPOSED_UP_TO + 1):
        try:
            _up_to_999(numbers, n)
        except NotRecorded as exc:
            missing.setdefault(str(exc), []).append(n)
    return [f"{problem} (needed for {_ranges(ns)})" for problem, ns in missing.items()]


def _ranges(ns: list[int]) -> str:
    shown = ", ".join(str(n) for n in ns[:5])
    return shown + (f" and {len(ns) - 5} more" if len(ns) > 5 else "")


def clip_url(recordings: Recordings, clip: Clip) -> str:
    """Where Twilio fetches a clip: an absolute URL as given, else under the base URL."""
    if re.match(r"^https?://", clip.clip):
        return clip.clip
    return recordings.base_url + clip.clip.lstrip("/")


@dataclass(frozen=True)
class MatchedReply:
    """An assistant reply recognised as one of the recorded ones, with its slots' values."""

    reply: RecordedReply
    values: dict[str, str]


def match_reply(replies: list[RecordedReply], text: str) -> MatchedReply | None:
    """The recorded reply whose text (its `{slots}` standing for any words) is `text`."""
    spoken = " ".join(text.split())
    for reply in replies:
        match = reply_pattern(reply.text).fullmatch(spoken)
        if match:
            return MatchedReply(reply, match.groupdict())
    return None


def reply_pattern(template: str) -> re.Pattern[str]:
    """A domain response's text as a pattern: its words literally, each `{slot}` any text."""
    pattern = []
    seen: set[str] = set()
    for literal, name, _spec, _conversion in string.Formatter().parse(" ".join(template.split())):
        pattern.append(re.escape(literal))
        if name is None:
            continue
        if name in seen:
            pattern.append(f"(?P={name})")
        else:
            pattern.append(f"(?P<{name}>.+?)")
            seen.add(name)
    return re.compile("".join(pattern), re.DOTALL)


def clips_of(model: object) -> Iterator[Clip]:
    """Every clip named anywhere in a language's settings (or any part of them)."""
    if isinstance(model, Clip):
        yield model
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from clips_of(getattr(model, name))
    elif isinstance(model, dict):
        for value in model.values():
            yield from clips_of(value)
    elif isinstance(model, list | tuple):
        for value in model:
            yield from clips_of(value)
