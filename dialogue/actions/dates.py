"""Dates for appointments: which days to offer, what day the caller meant, how to say a day.

Everything is in the customer's time zone (America/New_York for the demo customers), so
"tomorrow" and "the next 3 weekdays" mean the caller's, not the server's. Days are said and
understood in the call's language: the words are in dialogue/languages.yml; English, which
callers also mix into other languages ("Friday"), has the grammar below.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .languages import Hear, language  # relative: tests import this as dialogue.actions

CUSTOMER_TIMEZONE = ZoneInfo("America/New_York")

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_WORDS = {name: i for i, name in enumerate(_WEEKDAYS)} | {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    # what a recogniser sometimes hears
    "wensday": 2,
    "wednsday": 2,
    "thirsday": 3,
    "fryday": 4,
}
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH_WORDS = (
    {name: i + 1 for i, name in enumerate(_MONTHS)}
    | {name[:3]: i + 1 for i, name in enumerate(_MONTHS)}
    | {"sept": 9}
)
_DAY_UNITS = {
    "one": 1,
    "first": 1,
    "two": 2,
    "second": 2,
    "three": 3,
    "third": 3,
    "four": 4,
    "fourth": 4,
    "five": 5,
    "fifth": 5,
    "six": 6,
    "sixth": 6,
    "seven": 7,
    "seventh": 7,
    "eight": 8,
    "eighth": 8,
    "nine": 9,
    "ninth": 9,
}
_DAY_TEENS = {
    "ten": 10,
    "tenth": 10,
    "eleven": 11,
    "eleventh": 11,
    "twelve": 12,
    "twelfth": 12,
    "thirteen": 13,
    "thirteenth": 13,
    "fourteen": 14,
    "fourteenth": 14,
    "fifteen": 15,
    "fifteenth": 15,
    "sixteen": 16,
    "sixteenth": 16,
    "seventeen": 17,
    "seventeenth": 17,
    "eighteen": 18,
    "eighteenth": 18,
    "nineteen": 19,
    "nineteenth": 19,
}
_DAY_TENS = {"twenty": 20, "twentieth": 20, "thirty": 30, "thirtieth": 30}
_OPTION_ORDINALS = {"first": 0, "second": 1, "third": 2, "last": -1}


def today_for_customer(now: datetime | None = None) -> date:
    now = now or datetime.now(tz=CUSTOMER_TIMEZONE)
    return now.astimezone(CUSTOMER_TIMEZONE).date()


def next_weekdays(
    after: date, count: int = 3, exclude: frozenset[date] = frozenset()
) -> list[date]:
    """The first `count` weekdays (Monday to Friday) after `after`, skipping `exclude`."""
    days = []
    day = after
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in exclude:
            days.append(day)
    return days


def speak_date(day: date, language_code: str = "en-US") -> str:
    """How a voice says the day in the call's language, e.g. "Friday, November 27th",
    "วันศุกร์ที่ 27 พฤศจิกายน", "11月27日星期五"."""
    words = language(language_code).speak
    suffixes = words.day_suffixes
    return words.date.format(
        weekday=words.weekdays[day.weekday()],
        month=words.months[day.month - 1],
        month_number=day.month,
        day=day.day,
        day_suffix=suffixes.get(day.day, suffixes.get("default", "")),
    )


class DayRequest:
    """What the caller said about a day: any of a weekday, a day of the month, a month, an
    exact date, or the n-th offered option."""

    def __init__(
        self,
        exact: date | None = None,
        weekday: int | None = None,
        day_of_month: int | None = None,
        month: int | None = None,
        option_index: int | None = None,
    ) -> None:
        self.exact = exact
        self.weekday = weekday
        self.day_of_month = day_of_month
        self.month = month
        self.option_index = option_index

    def is_empty(self) -> bool:
        return all(
            v is None
            for v in (self.exact, self.weekday, self.day_of_month, self.month, self.option_index)
        )

    def matches(self, day: date) -> bool:
        if self.exact is not None and day != self.exact:
            return False
        if self.weekday is not None and day.weekday() != self.weekday:
            return False
        if self.day_of_month is not None and day.day != self.day_of_month:
            return False
        return self.month is None or day.month == self.month


def parse_day_request(text: str, today: date) -> DayRequest:
    """Understand simple spoken forms: "friday", "tomorrow", "december third", "the 3rd",
    "12/3", "the twenty seventh", "the first one"."""
    text = text.lower()
    tokens = re.findall(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d+(?:st|nd|rd|th)?|[a-z]+", text)
    request = DayRequest()

    if "day after tomorrow" in text:
        request.exact = today + timedelta(days=2)
        return request
    if "tomorrow" in tokens or "tmrw" in tokens:
        request.exact = today + timedelta(days=1)
        return request
    if "today" in tokens:
        request.exact = today
        return request

    for i, token in enumerate(tokens):
        if "/" in token:
            month, day = (int(p) for p in token.split("/")[:2])
            if 1 <= month <= 12 and 1 <= day <= 31:
                request.month, request.day_of_month = month, day
        elif token in _WEEKDAY_WORDS or token.rstrip("s") in _WEEKDAY_WORDS:
            request.weekday = _WEEKDAY_WORDS.get(token, _WEEKDAY_WORDS.get(token.rstrip("s")))
        elif token in _MONTH_WORDS and not (token == "may" and _is_verb_may(tokens, i)):
            request.month = _MONTH_WORDS[token]
        elif token in ("one", "option") and i > 0 and tokens[i - 1] in _OPTION_ORDINALS:
            request.option_index = _OPTION_ORDINALS[tokens[i - 1]]
            request.day_of_month = None

    if request.day_of_month is None and request.option_index is None:
        request.day_of_month = _day_of_month(tokens)
    return request


def _is_verb_may(tokens: list[str], i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1] in ("i", "be", "we")


def _day_of_month(tokens: list[str]) -> int | None:
    for i, token in enumerate(tokens):
        digits = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", token)
        if digits:
            value = int(digits.group(1))
            if 1 <= value <= 31:
                return value
        if token in _DAY_TENS:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            base = _DAY_TENS[token]
            if base == 20 and following in _DAY_UNITS:
                return base + _DAY_UNITS[following]
            if base == 30 and following in ("one", "first"):
                return 31
            return base
        if token in _DAY_TEENS:
            return _DAY_TEENS[token]
        if token in _DAY_UNITS and _is_ordinal_context(tokens, i):
            return _DAY_UNITS[token]
    return None


def _is_ordinal_context(tokens: list[str], i: int) -> bool:
    """ "third" or "the 3rd" is a day; a bare "one" in "that one" is not."""
    token = tokens[i]
    if token.endswith(("st", "nd", "rd", "th")) and token not in ("first",):
        return True
    previous = tokens[i - 1] if i > 0 else ""
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    if following in ("one", "option"):
        return False
    return previous in ("the", "on") or previous in _MONTH_WORDS or token == "first"


def parse_day_request_in(text: str, today: date, language_code: str) -> DayRequest:
    """What day the caller meant, in the call's language; English forms are understood in
    every language (a Thai or Indonesian caller may say "Friday" or "12/3")."""
    hear = language(language_code).hear
    request = _parse_with_words(text, today, hear) if hear else DayRequest()
    if request.is_empty():
        request = parse_day_request(text, today)
    return request


def _parse_with_words(text: str, today: date, hear: Hear) -> DayRequest:
    """Relative days, weekday and month names, offered-option words and a day number, by the
    words of dialogue/languages.yml. Matched words are blanked out, so "12月3日" gives month 12
    and day 3, not day 12."""
    text = text.lower().translate({ord(n): str(i) for i, n in enumerate(hear.numerals)})
    request = DayRequest()
    for words, days in (
        (hear.day_after_tomorrow, 2),
        (hear.tomorrow, 1),
        (hear.today, 0),
    ):
        if _find(words, text):
            request.exact = today + timedelta(days=days)
            return request
    for index, words in enumerate(hear.options):
        if _find(words, text):
            request.option_index = index
            return request
    if _find(hear.last_option, text):
        request.option_index = -1
        return request
    numeric = re.search(r"(?<!\d)(\d{1,2})/(\d{1,2})(?:/\d{2,4})?(?!\d)", text)
    if numeric:
        first, second = int(numeric.group(1)), int(numeric.group(2))
        day, month = (first, second) if hear.numeric_dates == "day/month" else (second, first)
        if 1 <= month <= 12 and 1 <= day <= 31:
            request.month, request.day_of_month = month, day
            return request
    for index, words in enumerate(hear.weekdays):
        found = _find(words, text)
        if found:
            request.weekday = index
            text = text.replace(found, " ")
    for index, words in enumerate(hear.months):
        found = _find(words, text)
        if found:
            request.month = index + 1
            text = text.replace(found, " ")
    day = re.search(r"(?<!\d)(\d{1,2})(?!\d)", text)
    if day and 1 <= int(day.group(1)) <= 31:
        request.day_of_month = int(day.group(1))
    return request


def _find(words: list[str], text: str) -> str | None:
    """The longest of `words` in `text`: whole words for Latin letters and digits, anywhere
    for Thai, Lao and Chinese (written without spaces)."""
    for word in sorted(words, key=len, reverse=True):
        pattern = re.escape(word.lower())
        if word[:1].isascii() and word[:1].isalnum():
            pattern = r"(?<![0-9a-z])" + pattern
        if word[-1:].isascii() and word[-1:].isalnum():
            pattern += r"(?![0-9a-z])"
        if re.search(pattern, text):
            return word.lower()
    return None


def pick_offered_day(
    text: str, offered: list[date], today: date, language_code: str = "en-US"
) -> tuple[date | None, bool]:
    """The offered day the caller chose, and whether they named any day at all.

    (None, True) means they named a day that is not on offer; (None, False) that no day was
    understood.
    """
    request = parse_day_request_in(text, today, language_code)
    if request.is_empty():
        return None, False
    if request.option_index is not None:
        try:
            return offered[request.option_index], True
        except IndexError:
            return None, True
    chosen = next((day for day in offered if request.matches(day)), None)
    return chosen, True
