"""Two intent classifiers' opinions, averaged: DIET's ranking (run before this component in the
pipeline) and a logistic regression over the same sparse features.

Measured on the held-out split (dialogue/README.md), the two are about as accurate overall
but wrong on different sentences: the regression weighs every character n-gram and word it
has seen, DIET learns which of them matter together and is sharply confident, right or wrong.
Averaging their probabilities keeps each one's strengths where the other is unsure. The
regression trains in about a minute on all languages, a fraction of DIET's time.

`blend_weight` is the regression's share (0: DIET alone, 1: the regression alone). An intent
outside DIET's ranking (its top `ranking_length`) counts 0 from DIET.
"""

from __future__ import annotations

import warnings
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from sklearn.exceptions import ConvergenceWarning

BLEND_WEIGHT = "blend_weight"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BlendedIntentClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), BLEND_WEIGHT: 0.5}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        weight = config.get(BLEND_WEIGHT, cls.get_default_config()[BLEND_WEIGHT])
        if not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise ValueError(
                f"{cls.__name__}: {BLEND_WEIGHT} must be between 0 and 1, not {weight!r}"
            )

    def train(self, training_data: TrainingData) -> Resource:
        # Stopping at `max_iter` is the measured setting, not an accident: lbfgs's warning that
        # it has not fully converged would only alarm whoever reads the training log.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().train(training_data)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Nothing downstream trains on predicted intents: skip predicting every example.
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        expected = getattr(self.clf, "n_features_in_", None)  # None: trained on nothing
        weight = float(self.config[BLEND_WEIGHT])
        for message in messages:
            if expected is None:
                continue
            features = self._create_X([message])
            # An empty or wordless message (silence, emoji) lacks some or all featurizers'
            # sentence features, so its row is narrower than the regression's: DIET's answer
            # stands. (Rasa's own LogisticRegressionClassifier fails the whole turn on it.)
            if features.shape[1] != expected:
                continue
            row = self.clf.predict_proba(features)[0]
            earlier = {
                entry["name"]: float(entry["confidence"])
                for entry in message.get(INTENT_RANKING_KEY) or []
            }
            ranking = sorted(
                (
                    {
                        "name": name,
                        "confidence": weight * float(p) + (1 - weight) * earlier.get(name, 0.0),
                    }
                    for name, p in zip(self.clf.classes_, row, strict=True)
                ),
                key=lambda entry: -entry["confidence"],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            if self.config[RANKING_LENGTH] > 0:
                ranking = ranking[: self.config[RANKING_LENGTH]]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
