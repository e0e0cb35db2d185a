"""The NLU pipeline's tokenizer for every caller language (dialogue/config.yml).

Rasa 3.6 has no tokenizer for Thai or Lao, and its Jieba and Whitespace tokenizers each
refuse the other's languages, so one model for all languages needs its own: the message text
is normalised (`normalize`: ASCII digits, Simplified Chinese) and segmented by script
(`segment`). The normalised text replaces the message's text, so the regex featurizer and
entity values see "123" for "๑๒๓" and Simplified for Traditional; lengths never change, so
offsets still point into what the caller said. Lao words' tokens are spelt in Thai script
(`lao_thai`), with the Lao word's offsets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from .lao_thai import in_thai_script
from .normalize import normalize
from .segment import warm_up, words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MultilingualTokenizer(Tokenizer):
    """Thai (pythainlp), Lao (laonlp), Chinese (jieba, after Traditional to Simplified) and
    space-separated languages (English, Indonesian), mixed freely in one sentence."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # Rasa's training cache keys a component by its config; our code and word list
        # change what it produces too, so they are part of the key.
        package = Path(__file__).parent
        digest = hashlib.sha256()
        for path in sorted(package.glob("*.py")) + sorted(package.glob("*.yml")):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualTokenizer:
        # Dictionaries load at start-up, not during the first caller's turn.
        warm_up()
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute)
        if attribute == TEXT:
            text = normalize(text)
            message.set(TEXT, text)
        found = words(text)
        if not found:
            # Emoji, punctuation or nothing at all: one token, as Rasa's own tokenizers do,
            # so the featurizers still have something (the model then falls back).
            return [Token(text, 0)]
        # Lao words reach the featurizers in Thai script (lao_thai); their offsets still
        # span the Lao the caller said.
        tokens = [Token(in_thai_script(word), start, start + len(word)) for word, start in found]
        return self._apply_token_pattern(tokens)
