"""What the simulated callers say first: a fixed-seed sample of the NLU examples of the
intents a caller opens with (why they call, and "how long"), the same few of each intent.

Examples that ask for a person are left out: the app answers those itself, without Rasa
(app.person_request.asks_for_a_person), so they would not measure a dialogue turn.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import yaml

from app.person_request import asks_for_a_person
from app.settings import REPO_ROOT

NLU_DIR = REPO_ROOT / "nlu_data"
SEED = 20261125
# Why people call (each sets the `reason` slot) and the queue question: what a caller
# says at the greeting. Greetings, yes/no, dates and account numbers answer a question.
OPENING_INTENTS = (
    "billing_question",
    "make_payment",
    "technical_problem",
    "reschedule_appointment",
    "cancel_service",
    "complaint",
    "account_help",
    "ask_callback",
    "same_as_last_time",
    "ask_wait_time",
)
# [text](entity) and [text]{"entity": ...}: the caller says the text only.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def nlu_examples(directory: Path = NLU_DIR) -> dict[str, list[str]]:
    """Every intent's examples as plain text, in file order."""
    examples: dict[str, list[str]] = {}
    for path in sorted(directory.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if "intent" not in item:
                continue  # regexes, lookups, synonyms
            lines = str(item.get("examples") or "").splitlines()
            texts = [_ANNOTATION.sub(r"\1", line.strip()[2:]) for line in lines if line.strip()]
            examples.setdefault(item["intent"], []).extend(t for t in texts if t)
    return examples


def opening_utterances(
    count: int, human_words: list[str], seed: int = SEED, language: str = "en-US"
) -> list[str]:
    """`count` utterances in `language` (its folder of nlu_data), as evenly spread over
    OPENING_INTENTS as `count` allows, shuffled with a fixed seed so every run says the same
    things in the same order."""
    rng = random.Random(seed)
    examples = nlu_examples(NLU_DIR / language)
    missing = [intent for intent in OPENING_INTENTS if intent not in examples]
    if missing:
        raise RuntimeError(f"no NLU examples for {missing} in {NLU_DIR}")
    chosen: list[str] = []
    for position, intent in enumerate(OPENING_INTENTS):
        share = count // len(OPENING_INTENTS) + (position < count % len(OPENING_INTENTS))
        candidates = [t for t in examples[intent] if not asks_for_a_person(t, human_words)]
        chosen += rng.sample(candidates, min(share, len(candidates)))
    rng.shuffle(chosen)
    return chosen
