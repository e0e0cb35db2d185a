"""Every reply and every word in every language, or a clear refusal naming what is missing.

    python dialogue/check_languages.py [--domain FILE] [--languages FILE]
    exit 0, or 1 with one line per problem on stderr, e.g.
    dialogue/domain.yml: th-TH: utter_greet: no variation in this language

Checked (scripts/rasa-train runs this before training; tests/test_dialogue_languages.py too):
- domain.yml: each response the caller hears (one with text) has a variation conditioned on
  the `language` slot for every language of languages.yml but the default, whose variations
  carry no condition; a translation uses the {placeholders} of one of the default's
  variations and the same custom payloads (the app acts on them whatever the language);
  conditions name known languages only.
- languages.yml: every language has the words the default has (`speak`), and every language
  but English the words callers say (`hear`).

Plain Python and PyYAML only: it runs in the Rasa virtualenv and in the app's.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

DIALOGUE = Path(__file__).resolve().parent
DOMAIN_FILE = DIALOGUE / "domain.yml"
LANGUAGES_FILE = DIALOGUE / "languages.yml"
LANGUAGE_SLOT = "language"
HEAR_KEYS = (
    "today",
    "tomorrow",
    "day_after_tomorrow",
    "weekdays",
    "months",
    "options",
    "last_option",
    "digits",
    "numerals",
    "numeric_dates",
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(DIALOGUE.parent))
    except ValueError:
        return str(path)


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def language_of(variation: dict[str, Any]) -> str | None:
    """The language a variation is for (its `language` slot condition), None if none."""
    for condition in variation.get("condition") or []:
        if condition.get("type") == "slot" and condition.get("name") == LANGUAGE_SLOT:
            return str(condition.get("value"))
    return None


def check_domain(domain_file: Path, languages: list[str], default: str) -> list[str]:
    where = _shown(domain_file)
    problems = []
    responses: dict[str, list[dict[str, Any]]] = _load(domain_file).get("responses") or {}
    for name, variations in responses.items():
        by_language: dict[str | None, list[dict[str, Any]]] = {}
        for variation in variations:
            by_language.setdefault(language_of(variation), []).append(variation)
        originals = by_language.get(None, [])
        if not originals:
            problems.append(f"{where}: {default}: {name}: no variation without a condition")
            continue
        for unknown in sorted(set(by_language) - {None, *languages}, key=str):
            problems.append(f"{where}: {unknown}: {name}: not a language of languages.yml")
        if not any(v.get("text") for v in originals):
            continue  # a payload only (back to waiting): nothing is said in any language
        placeholders = [_placeholders(v) for v in originals]
        payloads = {_payload(v) for v in originals}
        for language in languages:
            if language == default:
                continue
            translated = by_language.get(language, [])
            if not translated:
                problems.append(f"{where}: {language}: {name}: no variation in this language")
            for variation in translated:
                problems += _check_variation(
                    f"{where}: {language}: {name}", variation, placeholders, payloads
                )
    return problems


def _check_variation(
    label: str, variation: dict[str, Any], placeholders: list[set[str]], payloads: set[str]
) -> list[str]:
    problems = []
    if not str(variation.get("text") or "").strip():
        problems.append(f"{label}: empty text")
    used = _placeholders(variation)
    if used not in placeholders:
        expected = " or ".join(sorted(map(_braced, placeholders)))
        problems.append(f"{label}: placeholders {_braced(used)}, expected {expected}")
    if _payload(variation) not in payloads:
        problems.append(f"{label}: custom payload differs from the default language's")
    return problems


def _placeholders(variation: dict[str, Any]) -> set[str]:
    return set(_PLACEHOLDER.findall(str(variation.get("text") or "")))


def _braced(names: set[str]) -> str:
    return "{" + ", ".join(sorted(names)) + "}" if names else "none"


def _payload(variation: dict[str, Any]) -> str:
    return json.dumps(variation.get("custom"), sort_keys=True)


def check_words(languages_file: Path) -> list[str]:
    where = _shown(languages_file)
    data = _load(languages_file)
    entries: dict[str, dict[str, Any]] = data.get("languages") or {}
    default = data.get("default")
    if default not in entries:
        return [f"{where}: {default}: default: not one of the languages"]
    problems = []
    speak_keys = set(entries[default].get("speak") or {})
    for code, entry in entries.items():
        speak = (entry or {}).get("speak") or {}
        for key in sorted(speak_keys - set(speak)):
            problems.append(f"{where}: {code}: speak.{key}: missing")
        for key, size in (("weekdays", 7), ("months", 12)):
            if key in speak and len(speak[key]) != size:
                problems.append(f"{where}: {code}: speak.{key}: {size} names expected")
        if code == default:
            continue
        hear = (entry or {}).get("hear") or {}
        for key in HEAR_KEYS:
            if key not in hear:
                problems.append(f"{where}: {code}: hear.{key}: missing")
        if "numerals" in hear and len(str(hear["numerals"])) != 10:
            problems.append(f"{where}: {code}: hear.numerals: 10 digits 0-9 expected")
    return problems


def languages(languages_file: Path = LANGUAGES_FILE) -> tuple[list[str], str]:
    data = _load(languages_file)
    return list(data.get("languages") or {}), str(data.get("default"))


def check(domain_file: Path = DOMAIN_FILE, languages_file: Path = LANGUAGES_FILE) -> list[str]:
    codes, default = languages(languages_file)
    return check_words(languages_file) + check_domain(domain_file, codes, default)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", type=Path, default=DOMAIN_FILE)
    parser.add_argument("--languages", type=Path, default=LANGUAGES_FILE)
    args = parser.parse_args(argv)
    problems = check(args.domain, args.languages)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
