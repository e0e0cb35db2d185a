"""One spelling for what callers say the same way: ASCII digits and Simplified characters.

Speech recognisers for Thai and Lao may write numbers in Thai or Lao numerals (๑๒๓, ໑໒໓),
Chinese ones in full-width digits; the Taiwan recogniser writes Traditional
characters. Training data and patterns (account numbers, dates) use ASCII digits, and one
model serves both Chinese scripts, so both become Simplified before segmentation.

Every change is one character for one character, so offsets into the normalised text are
offsets into what the caller said (entities keep their place).
"""

from __future__ import annotations

from functools import cache

# Thai, Lao, full-width and Arabic-Indic digits, each block's 0-9 mapped to ASCII 0-9.
_DIGIT_BLOCKS = (0x0E50, 0x0ED0, 0xFF10, 0x0660, 0x06F0)
_DIGITS = {block + i: str(i) for block in _DIGIT_BLOCKS for i in range(10)}


def ascii_digits(text: str) -> str:
    """`text` with Thai, Lao and full-width digits written as 0-9."""
    return text.translate(_DIGITS)


@cache
def _t2s() -> object:
    from opencc import OpenCC  # imported on first use: a Thai call never needs it

    return OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` with Traditional Chinese characters written Simplified, length unchanged.

    Phrase conversion may change the length (a few Traditional phrases map to longer or
    shorter Simplified ones); then each character is converted on its own, which keeps the
    offsets and still gets every common character right."""
    if not any(_is_han(ch) for ch in text):
        return text
    converter = _t2s()
    converted: str = converter.convert(text)  # type: ignore[attr-defined]
    if len(converted) == len(text):
        return converted
    return "".join(
        c if len(c := converter.convert(ch)) == 1 else ch  # type: ignore[attr-defined]
        for ch in text
    )


def _is_han(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def normalize(text: str) -> str:
    """What the tokenizer and the patterns see: ASCII digits, Simplified Chinese."""
    return simplified(ascii_digits(text))
