"""The NLU data as Rasa reads it: all languages in one model, so the same words under two
intents in two languages (晚安 a greeting in one, a goodbye in another) are a conflict
`rasa data validate` refuses. Checked here without Rasa, naming both places."""

from __future__ import annotations

import re
from collections import defaultdict

import yaml

from dialogue import nlu_split

_ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}")


def test_no_example_is_under_two_intents_in_any_languages() -> None:
    places: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in nlu_split.nlu_files(nlu_split.NLU_DIR):
        language = nlu_split.language_of(path, nlu_split.NLU_DIR) or "shared"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if "intent" not in item:
                continue
            for text in nlu_split.examples_of(item):
                plain = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text).strip()
                places[plain].add((language, str(item["intent"])))
    conflicts = {
        text: sorted(where)
        for text, where in places.items()
        if len({intent for _, intent in where}) > 1
    }
    assert conflicts == {}
