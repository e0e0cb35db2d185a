"""Session start: carry slots over (Rasa's default) and take the call's language from the
metadata of the first message. Later messages keep the `language` slot on the call's
language through the NLU pipeline (multilingual/call_language.py)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.languages import call_language

SESSION_METADATA_SLOT = "session_started_metadata"


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # Slots carried over from an expired session come after SessionStarted.
        carried = [
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if value is not None and name not in ("requested_slot", "language")
        ]
        metadata = tracker.get_slot(SESSION_METADATA_SLOT) or {}
        call = metadata.get("call") if isinstance(metadata, dict) else None
        language = (call or {}).get("language") or tracker.get_slot("language")
        return [
            SessionStarted(),
            *carried,
            SlotSet("language", call_language(language)),
            ActionExecuted("action_listen"),
        ]
