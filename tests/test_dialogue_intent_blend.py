"""The NLU pipeline's blend of DIET's intent ranking with a logistic regression
(dialogue/multilingual/intent_blend.py), run in the Rasa virtualenv on a regression fitted
here to two intents, so each probability is known. Every case runs in one process (importing
Rasa takes seconds)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.rasa_stack import run_in_rasa_venv

pytestmark = pytest.mark.rasa  # needs the Rasa virtualenv

_BLEND = """
import json, sys
import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from dialogue.multilingual.intent_blend import BlendedIntentClassifier

def run(case):
    try:
        BlendedIntentClassifier.validate_config({"blend_weight": case["weight"]})
    except ValueError as error:
        return {"error": str(error)}
    component = BlendedIntentClassifier({"blend_weight": case["weight"]}, "blend", None, None)
    # One feature: 1 for billing, 0 for complaint; the probabilities are read back below.
    component.clf.fit(np.array([[1.0]] * 20 + [[0.0]] * 20), ["billing"] * 20 + ["complaint"] * 20)
    message = Message(data={TEXT: "x"})
    if case["feature"] is not None:  # None: no words, as for emoji only
        row = [case["feature"]] * case.get("width", 1)  # narrower or wider than trained on
        message.add_features(
            Features(scipy.sparse.coo_matrix([row]), FEATURE_TYPE_SENTENCE, TEXT, "v")
        )
    if case["diet"] is not None:
        message.set("intent_ranking", case["diet"])
    probabilities = component.clf.predict_proba([[case["feature"] or 0.0]])[0]
    component.process([message])
    return {"regression": dict(zip(component.clf.classes_, probabilities)),
            "intent": message.get("intent"), "ranking": message.get("intent_ranking")}

cases = json.load(sys.stdin)
print(json.dumps({name: run(case) for name, case in cases.items()}))
"""

Results = dict[str, dict[str, Any]]  # each case's outcome, by name

_DIET_SURE = [{"name": "complaint", "confidence": 1.0}]
CASES: dict[str, dict[str, object]] = {
    "averaged": {
        "weight": 0.25,
        "feature": 1.0,
        "diet": [{"name": "complaint", "confidence": 0.9}, {"name": "billing", "confidence": 0.1}],
    },
    "outside": {"weight": 0.5, "feature": 0.0, "diet": [{"name": "billing", "confidence": 1.0}]},
    "diet alone": {"weight": 0.0, "feature": 1.0, "diet": _DIET_SURE},
    "regression alone": {"weight": 1.0, "feature": 1.0, "diet": _DIET_SURE},
    "no ranking": {"weight": 0.5, "feature": 1.0, "diet": None},
    "no words": {"weight": 0.5, "feature": None, "diet": _DIET_SURE},
    "other width": {"weight": 0.5, "feature": 1.0, "width": 2, "diet": _DIET_SURE},
    "weight -0.1": {"weight": -0.1, "feature": 1.0, "diet": None},
    "weight 1.5": {"weight": 1.5, "feature": 1.0, "diet": None},
    "weight half": {"weight": "half", "feature": 1.0, "diet": None},
}


@pytest.fixture(scope="module")
def blended() -> Results:
    result = run_in_rasa_venv(_BLEND, json.dumps(CASES))
    parsed: Results = json.loads(result.strip().splitlines()[-1])
    return parsed


def test_the_two_opinions_are_averaged_by_the_weight(blended: Results) -> None:
    out = blended["averaged"]
    p = out["regression"]
    expected = {
        "billing": 0.25 * p["billing"] + 0.75 * 0.1,
        "complaint": 0.25 * p["complaint"] + 0.75 * 0.9,
    }
    assert p["billing"] > 0.5  # the regression alone would say billing
    assert {e["name"]: e["confidence"] for e in out["ranking"]} == pytest.approx(expected)
    assert out["intent"]["name"] == "complaint"  # DIET's sure answer outweighs it here
    assert out["ranking"][0] == out["intent"]


def test_an_intent_outside_diet_s_ranking_counts_nothing_from_diet(
    blended: Results,
) -> None:
    out = blended["outside"]
    p = out["regression"]
    ranking = {e["name"]: e["confidence"] for e in out["ranking"]}
    assert ranking["complaint"] == pytest.approx(0.5 * p["complaint"])
    assert ranking["billing"] == pytest.approx(0.5 * p["billing"] + 0.5)


@pytest.mark.parametrize(
    "case, winner", [("diet alone", "complaint"), ("regression alone", "billing")]
)
def test_the_extremes_are_one_classifier_alone(
    blended: Results,
    case: str,
    winner: str,
) -> None:
    assert blended[case]["intent"]["name"] == winner


def test_without_diet_s_ranking_the_regression_decides(blended: Results) -> None:
    assert blended["no ranking"]["intent"]["name"] == "billing"


@pytest.mark.parametrize("case", ["weight -0.1", "weight 1.5", "weight half"])
def test_a_weight_outside_0_to_1_is_refused_by_name(
    blended: Results,
    case: str,
) -> None:
    assert "blend_weight must be between 0 and 1" in blended[case]["error"]


@pytest.mark.parametrize("case", ["no words", "other width"])
def test_a_sentence_without_words_keeps_diet_s_answer(blended: Results, case: str) -> None:
    """Emoji or silence: no features, or fewer than the regression learnt from, since some
    featurizers add nothing for an empty text (Rasa's own regression fails the turn on it)."""
    out = blended[case]
    assert out["intent"] is None  # this component set nothing; DIET's ranking stands
    assert out["ranking"] == _DIET_SURE
