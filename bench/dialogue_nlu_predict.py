"""Classify NLU examples with a trained model, in the Rasa virtualenv (not the app's).

    <rasa venv>/bin/python bench/dialogue_nlu_predict.py MODEL EXAMPLES.json PREDICTIONS.json

EXAMPLES.json: [{"language", "intent", "text"}, ...] (text as written in the NLU files,
entity annotations included); PREDICTIONS.json gets the same rows with `predicted` (the top
intent before the fallback, as `rasa test nlu` scores it), `confidence`, and `answered` (the
intent the dialogue acts on: `nlu_fallback` below the threshold). The model is loaded once
and every example goes through the whole pipeline, tokenizer included, as a caller's words do.
Progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

# The model names its tokenizer by module path (dialogue.multilingual...), found from the
# repository root, as `rasa` itself finds it from its working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FALLBACK = "nlu_fallback"
# `[shown text](entity)` or `[shown text]{"entity": ...}` in an example: the caller says
# only the shown text.
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def spoken(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text)


def top_intent(parsed: dict[str, Any]) -> tuple[str | None, float]:
    """The best intent other than the fallback, and its confidence."""
    for entry in parsed.get("intent_ranking") or []:
        if entry.get("name") != FALLBACK:
            return entry.get("name"), float(entry.get("confidence") or 0.0)
    intent = parsed.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


async def predict(model: Path, examples: list[dict[str, str]]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    rows = []
    started = time.monotonic()
    for i, example in enumerate(examples, 1):
        parsed = await agent.parse_message(spoken(example["text"]))
        predicted, confidence = top_intent(parsed)
        answered = (parsed.get("intent") or {}).get("name")
        rows.append(
            example | {"predicted": predicted, "confidence": confidence, "answered": answered}
        )
        if i % 200 == 0:
            rate = i / (time.monotonic() - started)
            print(f"  classified {i}/{len(examples)} ({rate:.0f}/s)", file=sys.stderr)
    return rows


def main(argv: list[str]) -> int:
    model, examples_file, out = (Path(a) for a in argv)
    examples = json.loads(examples_file.read_text(encoding="utf-8"))
    rows = asyncio.run(predict(model, examples))
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=0), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
