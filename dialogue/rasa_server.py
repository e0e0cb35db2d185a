"""Rasa's own `rasa` command, with two costs of Rasa 3.6 taken out.

Every custom action's answer is checked against Rasa's response schema with
`jsonschema.validate(result, schema)`, which first checks the schema itself against
JSON Schema's meta-schema, on every call. Measured with py-spy on this dialogue (bench/
run-dialogue-capacity, 8 turns in flight): that re-check was half of Rasa's CPU per turn,
as most turns run two or three custom actions (session start, the form's validation, the
reason). Here the schema is checked once and its validator kept; each answer is still
validated exactly as before, with Rasa's own error message when it fails.

Reading a tracker back from Redis, Rasa finds each event's class by walking every subclass
of `Event` (9% of a turn): here the class is looked up by name, the walk done again only
for a name not seen yet.

scripts/rasa-serve runs `python -m dialogue.rasa_server run ...` with Rasa's arguments.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses


@functools.cache
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as `validate` did on every call
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the validator built once."""
    try:
        _response_validator().validate(result)
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


# Event type name -> class, first match in all_subclasses' order as Rasa's own loop finds it.
_event_classes: dict[str, type[Event]] = {}


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type without walking every subclass of Event for each event read
    (a tracker's events are read back on every turn: 9% of the turn). A name not seen yet
    walks them again, so classes defined later (custom events) are still found."""
    found = _event_classes.get(type_name)
    if found is None:
        for cls in all_subclasses(Event):
            _event_classes.setdefault(cls.type_name, cls)
        found = _event_classes.get(type_name)
    if found is not None:
        return found
    return _original_resolve_by_type(type_name, default)


_original_resolve_by_type = Event.resolve_by_type


def patch() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[assignment]


def main() -> None:
    patch()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
