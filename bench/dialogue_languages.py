"""Turn latency per language and the dialogue processes' memory, on the benchmark's stack.

Each language's callers open with that language's own NLU examples (nlu_data/<code>/), sent
through Rasa's REST channel as the app sends them (sender = a fresh CallSid, metadata with
`call.language`), one at a time: so the tokenizer of each script, the language-conditioned
replies and the action server's language slot are all on the measured path, and languages
compare with English on the same model and machine. Turns alternate between languages, so a
disturbance from the rest of the machine lands on all of them alike. Memory is the resident
set (RSS) of every process in the Rasa server's and the action server's process groups after
the turns, read from /proc.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.dialogue_stack import Stack
from bench.dialogue_utterances import NLU_DIR, opening_utterances
from bench.measure import percentile, progress

TURN_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class LanguageLatency:
    language: str
    ms: list[float]
    errors: int

    @property
    def p50(self) -> float:
        return percentile(sorted(self.ms), 0.5)

    @property
    def p95(self) -> float:
        return percentile(sorted(self.ms), 0.95)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.ms) if self.ms else float("nan")


@dataclass(frozen=True)
class LanguagesResult:
    latency: list[LanguageLatency]
    rss_mb: dict[str, float]  # process group ("rasa", "actions") -> MiB


def languages_with_data() -> list[str]:
    return sorted(p.name for p in NLU_DIR.iterdir() if p.is_dir())


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in a process group, in MiB."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def _turn(session: requests.Session, stack: Stack, language: str, text: str) -> float | None:
    started = time.perf_counter()
    try:
        response = session.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            params={"token": stack.rasa_token},
            json={
                "sender": f"CA{uuid.uuid4().hex}",
                "message": text,
                "metadata": {
                    "call": {
                        "language": language,
                        "people_ahead": 3,
                        "wait_minutes": 4,
                        "verified": False,
                    }
                },
            },
            timeout=TURN_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except requests.RequestException:
        return None
    return (time.perf_counter() - started) * 1000


def measure_languages(stack: Stack, utterances: int, human_words: list[str]) -> LanguagesResult:
    languages = languages_with_data()
    said = {
        language: opening_utterances(utterances, human_words, language=language)
        for language in languages
    }
    ms: dict[str, list[float]] = {language: [] for language in languages}
    errors = dict.fromkeys(languages, 0)
    with requests.Session() as session:
        for language in languages:  # a warm-up turn each: first use loads a dictionary
            _turn(session, stack, language, said[language][0])
        for i in range(max(len(texts) for texts in said.values())):
            for language in languages:
                if i >= len(said[language]):
                    continue
                took = _turn(session, stack, language, said[language][i])
                if took is None:
                    errors[language] += 1
                else:
                    ms[language].append(took)
            if (i + 1) % 10 == 0:
                progress(f"  {i + 1} turns in each of {len(languages)} languages")
    rss = {name: group_rss_mb(stack.pids[name]) for name in ("rasa", "actions")}
    return LanguagesResult(
        latency=[LanguageLatency(lang, ms[lang], errors[lang]) for lang in languages],
        rss_mb=rss,
    )
