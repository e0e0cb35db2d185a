"""Whether what a caller said asks for a person ("agent", "พนักงาน", "转人工")."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Scripts written without spaces between words: Thai, Lao, Khmer, Myanmar, the CJK
# ideographs, kana. A word from them is found anywhere in a run of letters, as the
# recogniser writes "ผมอยากคุยกับพนักงาน" in one piece; elsewhere a word must stand alone, so
# "agent" is not found in "agenda".
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)


@lru_cache(maxsize=256)
def _pattern(listed: str) -> re.Pattern[str] | None:
    """The operator's word as a pattern over what was said (normalised once, cached)."""
    word = _words_only(listed)
    if not word:
        return None  # punctuation only: matches nothing
    before = "" if _UNSPACED.match(word[0]) else r"(?<!\S)"
    after = "" if _UNSPACED.match(word[-1]) else r"(?!\S)"
    # Any run of spaces in the word matches any run in what was said.
    body = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(before + body + after)


def _words_only(text: str) -> str:
    r"""Letters, marks and digits, everything else one space. (Not `\w`: Thai and Lao vowel
    and tone marks are combining marks, which `\w` leaves out, splitting every word.)"""
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in text.lower())
    return " ".join(kept.split())


def asks_for_a_person(said: str, human_words: list[str]) -> bool:
    """True when the caller's words contain one of the operator's words for a person."""
    text = _words_only(said)
    patterns = (_pattern(word) for word in human_words)
    return any(pattern is not None and pattern.search(text) for pattern in patterns)
