"""The held-out split of the NLU data: a fixed fifth of each language's examples that the
production model never trains on, so accuracy measured on it can be trusted.

    python dialogue/nlu_split.py --train DIR [--heldout DIR] [--nlu nlu_data]

writes the training part (every file of nlu_data, held-out examples taken out; regexes,
lookups and synonyms kept) under --train, and one file of held-out examples per language
(`<code>.yml`) under --heldout. scripts/rasa-train trains on the training part only;
bench/run-dialogue tests on the held-out part and cross-validates on the training part.

Why a split by hash and not committed held-out files: the people writing a language's data
keep writing in one place (nlu_data/<code>/), and whether an example is held out depends on
that example alone (a hash of its language, intent and text), so adding or editing examples
never moves the others between the parts: results stay comparable from one data change to
the next, and nothing has to be kept in sync by hand.

Languages are folders of nlu_data named by their code (nlu_data/th-TH/); files directly in
nlu_data (entities.yml) are shared by all languages and hold no examples to split.
Plain Python and PyYAML only: it runs in the Rasa virtualenv and in the app's.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = REPO_ROOT / "nlu_data"
HELD_OUT_ONE_IN = 5  # a fifth of the examples
# Intents with fewer examples than this in a language keep them all for training.
MIN_EXAMPLES_TO_SPLIT = 5
_EXAMPLE = re.compile(r"^\s*-\s+(.*\S)\s*$")


@dataclass(frozen=True)
class Example:
    language: str
    intent: str
    text: str  # as written in the file, entity annotations included


def language_of(path: Path, nlu_dir: Path) -> str | None:
    """The language folder a file is in (nlu_data/th-TH/reasons.yml: th-TH), None if shared."""
    parts = path.relative_to(nlu_dir).parts
    return parts[0] if len(parts) > 1 else None


def is_held_out(example: Example) -> bool:
    key = f"{example.language}\n{example.intent}\n{example.text}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % HELD_OUT_ONE_IN == 0


def examples_of(item: dict[str, Any]) -> list[str]:
    return [
        m.group(1)
        for line in str(item.get("examples") or "").splitlines()
        if (m := _EXAMPLE.match(line))
    ]


def nlu_files(nlu_dir: Path) -> Iterator[Path]:
    yield from sorted(p for p in nlu_dir.rglob("*") if p.suffix in (".yml", ".yaml"))


def split(nlu_dir: Path) -> tuple[dict[Path, dict[str, Any]], dict[str, list[Example]]]:
    """(training data per file, relative to nlu_dir; held-out examples per language)."""
    training: dict[Path, dict[str, Any]] = {}
    held_out: dict[str, list[Example]] = {}
    counts: dict[tuple[str, str], int] = {}
    parsed = []
    for path in nlu_files(nlu_dir):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        language = language_of(path, nlu_dir)
        parsed.append((path, data, language))
        for item in data.get("nlu") or []:
            if "intent" in item and language:
                key = (language, str(item["intent"]))
                counts[key] = counts.get(key, 0) + len(examples_of(item))
    for path, data, language in parsed:
        items = []
        for item in data.get("nlu") or []:
            if "intent" not in item or language is None:
                items.append(item)
                continue
            intent = str(item["intent"])
            kept = []
            for text in examples_of(item):
                example = Example(language, intent, text)
                if counts[(language, intent)] >= MIN_EXAMPLES_TO_SPLIT and is_held_out(example):
                    held_out.setdefault(language, []).append(example)
                else:
                    kept.append(text)
            if kept:
                items.append(item | {"examples": _examples_block(kept)})
        training[path.relative_to(nlu_dir)] = data | {"nlu": items}
    return training, held_out


def _examples_block(texts: list[str]) -> str:
    return "".join(f"- {text}\n" for text in texts)


def as_nlu_yaml(examples: list[Example]) -> str:
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    data = {
        "version": "3.1",
        "nlu": [{"intent": i, "examples": _examples_block(t)} for i, t in by_intent.items()],
    }
    return yaml.dump(data, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False)


class _LiteralDumper(yaml.SafeDumper):
    """Example lists as `examples: |` blocks, as Rasa's own files write them."""


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _literal)


def write(nlu_dir: Path, train_dir: Path | None, heldout_dir: Path | None) -> dict[str, int]:
    """Write the parts; the number of held-out examples per language."""
    training, held_out = split(nlu_dir)
    if train_dir is not None:
        for relative, data in training.items():
            target = train_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                yaml.dump(data, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
    if heldout_dir is not None:
        heldout_dir.mkdir(parents=True, exist_ok=True)
        for language, examples in held_out.items():
            (heldout_dir / f"{language}.yml").write_text(as_nlu_yaml(examples), encoding="utf-8")
    return {language: len(examples) for language, examples in sorted(held_out.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nlu", type=Path, default=NLU_DIR)
    parser.add_argument("--train", type=Path, help="write the training part here")
    parser.add_argument("--heldout", type=Path, help="write the held-out part here")
    args = parser.parse_args(argv)
    counts = write(args.nlu, args.train, args.heldout)
    shown = ", ".join(f"{language} {n}" for language, n in counts.items()) or "none"
    print(f"held out (never trained on): {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
