"""scripts/dialogue-check, the operator's command for the dialogue YAML, on a copy of the
project whose stories name an intent nobody defined: it stops at validation, says so and
names the culprit, before any training. (The whole command passing is what
tests/test_assistant_with_rasa.py checks step by step: validation and the test stories.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.rasa


def test_a_story_naming_an_unknown_intent_is_refused_before_training(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    for part in ("scripts", "dialogue", "nlu_data"):
        shutil.copytree(
            REPO / part,
            copy / part,
            ignore=shutil.ignore_patterns("models", ".rasa", "__pycache__"),
        )
    stories = copy / "dialogue" / "data" / "stories" / "reasons.yml"
    stories.write_text(
        stories.read_text() + "\n  - story: a caller asks for a refund\n    steps:\n"
        "      - intent: ask_for_a_refund_please\n      - action: utter_greet\n"
    )
    result = subprocess.run(
        [str(copy / "scripts" / "dialogue-check")],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "step 2/4: rasa data validate" in result.stderr
    assert "FAILED: the dialogue YAML does not validate" in result.stderr
    assert "ask_for_a_refund_please" in result.stderr
    assert "step 3/4" not in result.stderr  # nothing trained from a broken project
