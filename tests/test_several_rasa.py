"""Two real Rasa processes sharing the conversations (trackers and locks in Redis): turns go
round them, and when one dies mid-conversation the other carries the call on, slots and all,
with no turn falling back to the keypad."""

from __future__ import annotations

from pathlib import Path

from app.dialogue_client import RasaClient
from standin import new_call_sid
from tests.loopback import free_port
from tests.rasa_stack import RASA_TOKEN, RasaStack

FACTS = {"call": {"language": "en-US", "verified": False}}


def test_a_conversation_outlives_its_rasa_process(rasa_stack: RasaStack, tmp_path: Path) -> None:
    other = rasa_stack.another_rasa(free_port(), tmp_path / "second-rasa.log")
    client = RasaClient([other.url, rasa_stack.url], RASA_TOKEN, budget_seconds=15)
    try:
        sender = new_call_sid()
        first = client.turn(sender, "i have a question about my bill", FACTS)  # the second
        assert first.slots.get("reason") == "billing"
        other.kill()
        # The next turn goes round to the first process; the one after would go to the dead
        # one, which refuses the connection, and is taken by the living one at once.
        for said in ("hello", "how long is the wait"):
            turn = client.turn(sender, said, FACTS)
            assert turn.replies
            assert turn.slots.get("reason") == "billing"  # what the dead process learned
        assert not client.is_open
    finally:
        client.close()
        other.stop()
