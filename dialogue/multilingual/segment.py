"""Words from a caller's sentence, whatever its script, with their offsets.

The sentence is cut into runs of one script; each run goes to the segmenter for that script:
Thai to pythainlp's newmm (dictionary only), Lao to laonlp, Chinese (Han characters, already
Simplified) to jieba, anything else (English, Indonesian, digits, "wifi" in a Thai sentence)
to a plain word pattern. So code-switching and mixed scripts need no language guess, and one
model serves every language. Nothing is downloaded: every dictionary ships in its package.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import yaml

# pythainlp must not try the network, and keeps its (unused) data directory out of $HOME.
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_DATA_DIR", os.path.join(tempfile.gettempdir(), "pythainlp-data"))

WORDS_FILE = Path(__file__).with_name("segmenter_words.yml")

Word = tuple[str, int]  # (text, start offset)

_THAI, _LAO, _HAN, _OTHER = "thai", "lao", "han", "other"
# Letters, digits and combining marks of any script; the rest (spaces, punctuation, emoji)
# separates words.
# Inside a word: apostrophes (straight or typographic: "i'm"), dots, slashes, colons, hyphens.
_OTHER_WORD = re.compile(r"[^\W_]+(?:[.'\u2019/:-][^\W_]+)*")


def script_of(ch: str) -> str:
    code = ord(ch)
    if 0x0E00 <= code <= 0x0E7F:
        return _THAI
    if 0x0E80 <= code <= 0x0EFF:
        return _LAO
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return _HAN
    return _OTHER


def script_runs(text: str) -> Iterator[tuple[str, str, int]]:
    """(script, run, start) for each maximal run of Thai, Lao, Han or other characters."""
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or script_of(text[i]) != script_of(text[start]):
            yield script_of(text[start]), text[start:i], start
            start = i


def words(text: str) -> list[Word]:
    """Every word of `text` with its offset, in order; spaces, punctuation and emoji dropped."""
    found: list[Word] = []
    for script, run, start in script_runs(text):
        if script == _OTHER:
            found += [(m.group(), start + m.start()) for m in _OTHER_WORD.finditer(run)]
            continue
        offset = start
        for piece in _SEGMENTERS[script]()(run):
            if piece.strip() and any(ch.isalnum() or _is_mark(ch) for ch in piece):
                found.append((piece, offset))
            offset += len(piece)
    return found


def _is_mark(ch: str) -> bool:
    # Thai and Lao vowels and tone marks are combining marks, not letters, to `isalnum`.
    return script_of(ch) in (_THAI, _LAO)


@cache
def _extra_words() -> dict[str, dict[str, list[str]]]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8")) or {}
    return {
        lang: {k: list(v or []) for k, v in (entry or {}).items()} for lang, entry in data.items()
    }


@cache
def _thai() -> Callable[[str], list[str]]:
    from pythainlp.corpus.common import thai_words
    from pythainlp.tokenize import word_tokenize
    from pythainlp.util import dict_trie

    extra = _extra_words().get("thai", {})
    trie = dict_trie((set(thai_words()) | set(extra.get("add", []))) - set(extra.get("remove", [])))
    return lambda run: list(word_tokenize(run, custom_dict=trie, engine="newmm"))


@cache
def _lao() -> Callable[[str], list[str]]:
    from laonlp.corpus import lao_words
    from laonlp.tokenize.multi_cut import segment  # laonlp's word_tokenize, with our words
    from pythainlp.util import Trie

    extra = _extra_words().get("lao", {})
    trie = Trie((set(lao_words()) | set(extra.get("add", []))) - set(extra.get("remove", [])))
    return lambda run: list(segment(run, custom_dict=trie, safe_mode=True))


@cache
def _han() -> Callable[[str], list[str]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    # jieba caches its prefix dictionary in the temp directory (no network, no $HOME).
    tokenizer = jieba.Tokenizer()
    for word in _extra_words().get("chinese", {}).get("add", []):
        tokenizer.add_word(word)
    return lambda run: list(tokenizer.cut(run))


_SEGMENTERS: dict[str, Callable[[], Callable[[str], list[str]]]] = {
    _THAI: _thai,
    _LAO: _lao,
    _HAN: _han,
}


def warm_up() -> None:
    """Load every dictionary now (about 2 s), so the first caller does not wait for it."""
    for load in _SEGMENTERS.values():
        load()
