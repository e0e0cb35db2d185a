"""dialogue/rasa_server.py takes two costs out of Rasa 3.6 (tested in the Rasa runtime, where
they run): what Rasa computes and refuses stays the same."""

from __future__ import annotations

import subprocess

from app.settings import REPO_ROOT
from tests.rasa_stack import RasaStack

CHECKS = """
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.utils.common import all_subclasses

from dialogue import rasa_server

names = sorted({cls.type_name for cls in all_subclasses(Event)})
before = {name: Event.resolve_by_type(name) for name in names}
rasa_server.patch()
assert {name: Event.resolve_by_type(name) for name in names} == before
assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
try:
    Event.resolve_by_type("no_such_event")
except ValueError as exc:
    assert "no_such_event" in str(exc)
else:
    raise AssertionError("an unknown event name was accepted")

action = RemoteAction("action_acknowledge_reason", None)
good = {"events": [{"event": "slot", "name": "reason", "value": "billing"}], "responses": []}
assert action._validate_action_result(good)
for bad in ({"events": "not a list"}, {"events": [{"event": "slot", "timestamp": "x"}]}):
    try:
        action._validate_action_result(bad)
    except ValidationError as exc:
        assert "Failed to validate Action server response" in exc.message
    else:
        raise AssertionError(f"accepted {bad}")
print("same")
"""


def test_rasa_s_own_answers_and_refusals_stand_with_its_costs_removed(
    rasa_stack: RasaStack,
) -> None:
    result = subprocess.run(
        [str(rasa_stack.venv / "bin" / "python"), "-c", CHECKS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("same")
