"""Digits from what a speech recogniser makes of a number said on the phone.

Callers read account numbers digit by digit ("one oh two three"), in pairs ("ten twenty
three"), with "double" and "triple", or the recogniser writes digits ("1023" or "1 0 2 3"),
in Thai or Lao numerals ("๑๐๒๓") or full-width digits. Fillers ("um", "it's", "my number
is") are ignored. English has the grammar below; other languages' digit words are in
dialogue/languages.yml (callers read account numbers digit by digit there).
"""

from __future__ import annotations

import re
import unicodedata

from .languages import Hear, language  # relative: tests import this as dialogue.actions

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


def spoken_digits(text: str, language_code: str = "en-US") -> str:
    """All the digits said in `text`, in order, as one string ("" if none), in the call's
    language, else as English (callers mix English numbers into other languages).

    >>> spoken_digits("um one oh two three four five six seven")
    '10234567'
    >>> spoken_digits("ten twenty three forty five sixty seven")
    '10234567'
    >>> spoken_digits("เลขบัญชี หนึ่งศูนย์สองสาม ๔๕๖๗ ค่ะ", "th-TH")
    '10234567'
    """
    text = ascii_digits(text)
    hear = language(language_code).hear
    digits = _digits_with_words(text, hear) if hear else ""
    return digits or _english_digits(text)


def ascii_digits(text: str) -> str:
    """`text` with every script's decimal digits (Thai, Lao, full-width, ...) written 0-9."""
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in text
    )


def _digits_with_words(text: str, hear: Hear) -> str:
    """Digits written as digits, and runs of at least two digit words ("หนึ่งศูนย์", "satu
    dua"): a lone digit word is more often part of another word (一下, "satu kali")."""
    lowered = text.lower()
    out: list[str] = []
    run: list[str] = []
    words = sorted(hear.digits, key=len, reverse=True)
    i = 0
    while i < len(lowered):
        ch = lowered[i]
        if ch.isdigit():
            out += _keep_run(run)
            run = []
            out.append(ch)
            i += 1
            continue
        word = next((w for w in words if lowered.startswith(w, i) and _whole(lowered, i, w)), None)
        if word is not None:
            run.append(str(hear.digits[word]))
            i += len(word)
        elif ch.isspace() or ch in ",.-":
            i += 1  # between digit words, spaces and light punctuation keep the run going
        else:
            out += _keep_run(run)
            run = []
            i += 1
    return "".join(out + _keep_run(run))


def _keep_run(run: list[str]) -> list[str]:
    return run if len(run) >= 2 else []


def _whole(text: str, i: int, word: str) -> bool:
    """Latin digit words ("dua") only count as whole words; Thai, Lao and Chinese ones
    anywhere, since those scripts have no spaces between words."""
    if not word.isascii():
        return True
    before = text[i - 1] if i > 0 else " "
    after = text[i + len(word)] if i + len(word) < len(text) else " "
    return not before.isalpha() and not after.isalpha()


def _english_digits(text: str) -> str:
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
