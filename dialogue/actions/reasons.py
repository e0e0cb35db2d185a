"""Acknowledge why the caller is calling. The `reason` slot itself is filled by its mapping
(from the intent, or the keypad menu's `reason` entity); this picks the matching sentence and
updates the agent's summary."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.call_facts import call_facts
from actions.summary import summary_event

ACKNOWLEDGEMENTS = {
    "billing": "utter_ack_billing",
    "payment": "utter_ack_payment",
    "technical": "utter_ack_technical",
    "appointment": "utter_ack_appointment",
    "cancel": "utter_ack_cancel",
    "complaint": "utter_ack_complaint",
    "account": "utter_ack_account",
    "callback": "utter_ack_callback",
    "repeat": "utter_ack_repeat",
}


class ActionAcknowledgeReason(Action):
    def name(self) -> str:
        return "action_acknowledge_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason = tracker.get_slot("reason")
        if intent == "keypad_menu":
            # The caller already heard the keypad menu's confirmation from the app.
            dispatcher.utter_message(response="utter_resume_waiting")
        elif reason == "callback" and not call_facts(tracker).get("caller_known", False):
            # A withheld number can never be called back (design: withheld caller IDs).
            dispatcher.utter_message(response="utter_ack_callback_withheld")
        elif reason in ACKNOWLEDGEMENTS:
            dispatcher.utter_message(response=ACKNOWLEDGEMENTS[reason])
        return [summary_event(tracker)]
