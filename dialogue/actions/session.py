"""Session start and the call's language: carry slots over (Rasa's default), and keep the
`language` slot on the language the app says the call is in, from the first message on and
after any switch mid-call (the app sends `call.language` with every message)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.call_facts import call_facts
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


class ActionFollowCallLanguage(Action):
    """Run by Rasa after every user message (the `language` slot's custom mapping names it),
    before the reply is chosen: the reply is in the language the call is in now."""

    def name(self) -> str:
        return "action_follow_call_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        said = call_facts(tracker).get("language")
        if said is None:
            return []  # no call facts (a test message, say): keep the language
        language = call_language(said)
        return [] if language == tracker.get_slot("language") else [SlotSet("language", language)]
