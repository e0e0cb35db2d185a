"""The call's language as an entity of every message, so the `language` slot follows the app's
`call.language` without a round trip to the action server.

The app sends `metadata.call.language` with every message (dialogue/README.md); Rasa hands the
metadata to the NLU pipeline, and this component adds a `language` entity with that code (a
code of dialogue/languages.yml, the default for an unknown one). The slot's `from_entity`
mapping then sets it before the reply is chosen, so a caller who switches language mid-call
hears the next reply in the new one. A message without call facts (`/model/parse`, a test)
gets no such entity and leaves the slot as it was. The entity never influences the
conversation (domain.yml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
)
from rasa.shared.nlu.training_data.message import Message

LANGUAGES_FILE = Path(__file__).resolve().parent.parent / "languages.yml"
ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class CallLanguageExtractor(GraphComponent):
    def __init__(self, languages: list[str], default: str) -> None:
        self._languages = {code.lower(): code for code in languages}
        self._default = default

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CallLanguageExtractor:
        data = yaml.safe_load(LANGUAGES_FILE.read_text(encoding="utf-8"))
        return cls(list(data["languages"]), str(data["default"]))

    def language(self, said: object) -> str:
        if isinstance(said, str):
            return self._languages.get(said.strip().lower(), self._default)
        return self._default

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            metadata = message.get("metadata")
            call = metadata.get("call") if isinstance(metadata, dict) else None
            if not isinstance(call, dict) or "language" not in call:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: ENTITY,
                ENTITY_ATTRIBUTE_VALUE: self.language(call["language"]),
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: 0,
                EXTRACTOR: type(self).__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
