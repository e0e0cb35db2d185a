"""Digits from what a speech recogniser makes of a number said on the phone.

Callers read account numbers digit by digit ("one oh two three"), in pairs ("ten twenty
three"), with "double" and "triple", or the recogniser writes digits ("1023" or "1 0 2 3").
Fillers ("um", "it's", "my number is") are ignored.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "nought": 0,
    "one": 1,
    "won": 1,
    "two": 2,
    "to": 2,
    "too": 2,
    "three": 3,
    "four": 4,
    "for": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "ate": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_REPEAT = {"double": 2, "triple": 3}
# "oh", "to", "for", "o" only count as digits next to other digits ("one to three"), never
# alone in a sentence like "i want to pay" or "oh, it's 1023...": see `spoken_digits`.
_AMBIGUOUS = {"oh", "to", "too", "for", "o", "won", "ate"}


def spoken_digits(text: str) -> str:
    """All the digits said in `text`, in order, as one string ("" if none).

    >>> spoken_digits("um one oh two three four five six seven")
    '10234567'
    >>> spoken_digits("ten twenty three forty five sixty seven")
    '10234567'
    """
    tokens = re.findall(r"[a-z]+|\d+", text.lower().replace("-", " "))
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.isdigit():
            out.append(token)
        elif token in _REPEAT and i + 1 < len(tokens) and _is_digit_word(tokens, i + 1):
            digit = tokens[i + 1]
            value = digit if digit.isdigit() else str(_UNITS[digit])
            out.append(value * _REPEAT[token])
            i += 1
        elif token in _TEENS:
            out.append(str(_TEENS[token]))
        elif token in _TENS:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            if following in _UNITS and following not in ("oh", "o") and _UNITS[following]:
                out.append(str(_TENS[token] + _UNITS[following]))
                i += 1
            else:
                out.append(str(_TENS[token]))
        elif token in _UNITS and _is_digit_word(tokens, i):
            out.append(str(_UNITS[token]))
        i += 1
    return "".join(out)


def _is_digit_word(tokens: list[str], i: int) -> bool:
    token = tokens[i]
    if token.isdigit():
        return True
    if token not in _UNITS:
        return False
    if token not in _AMBIGUOUS:
        return True
    # An ambiguous word is a digit only next to another number, counting a run of ambiguous
    # words as one ("oh oh seven", "five five oh oh").
    before, after = i - 1, i + 1
    while before >= 0 and tokens[before] in _AMBIGUOUS:
        before -= 1
    while after < len(tokens) and tokens[after] in _AMBIGUOUS:
        after += 1
    return _is_numberish(tokens, before) or _is_numberish(tokens, after)


def _is_numberish(tokens: list[str], i: int) -> bool:
    if not 0 <= i < len(tokens):
        return False
    token = tokens[i]
    return token.isdigit() or (
        token not in _AMBIGUOUS
        and (token in _UNITS or token in _TEENS or token in _TENS or token in _REPEAT)
    )
