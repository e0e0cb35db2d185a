"""Verification: the account number, then the outcome of a secret the web app collects.

The secret itself never reaches Rasa. The form asks for the account number (spoken or keyed),
checks it exists, then asks the app to collect a secret (`collect_secret` payload). The app
answers `/verification_result{"verification": ..., "verification_method": ...}`:

- verified: the form ends and the dialogue goes on with the reason for the call;
- failed: the slot reads "failed" (the app reads it back) and the form asks again; the app
  counts the attempts;
- locked: the form ends; an agent verifies the caller.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api.customers import load_directory
from actions.languages import call_language
from actions.spoken_numbers import spoken_digits
from actions.summary import summary_event

MIN_ACCOUNT_DIGITS = 6
MAX_ACCOUNT_DIGITS = 12
# Which secret to try after the caller cannot give the current one.
NEXT_SECRET = {"pin": "dob", "dob": "postcode"}
SWITCH_RESPONSE = {"dob": "utter_use_dob_instead", "postcode": "utter_use_postcode_instead"}


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        # `super().run` applied the validated values to `tracker`. After a failed attempt
        # the slot keeps "failed" for the app to read, yet the form must ask again.
        if tracker.get_slot("verification") == "failed":
            events.append(SlotSet("requested_slot", "verification"))
        if events:
            events.append(summary_event(tracker))
        return events

    def validate_account_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        language = call_language(tracker.get_slot("language"))
        digits = spoken_digits(str(slot_value or ""), language)
        # An entity may hold only part of a spoken number; the whole message may hold more.
        if tracker.get_slot("requested_slot") == "account_number":
            from_text = spoken_digits(tracker.latest_message.get("text") or "", language)
            if len(from_text) > len(digits):
                digits = from_text
        if not MIN_ACCOUNT_DIGITS <= len(digits) <= MAX_ACCOUNT_DIGITS:
            dispatcher.utter_message(response="utter_account_number_not_heard")
            return {"account_number": None}
        if load_directory().find(digits) is None:
            dispatcher.utter_message(response="utter_account_not_found")
            return {"account_number": None}
        return {"account_number": digits}

    def validate_verification(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if slot_value == "verified":
            dispatcher.utter_message(response="utter_verified")
        elif slot_value == "locked":
            dispatcher.utter_message(response="utter_verification_locked")
        elif slot_value == "failed":
            dispatcher.utter_message(response="utter_secret_mismatch")
        else:
            return {"verification": None}
        return {"verification": slot_value}


class ActionAskVerification(Action):
    """Ask the app to collect the current secret for the validated account."""

    def name(self) -> str:
        return "action_ask_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        method = tracker.get_slot("secret_method") or "pin"
        dispatcher.utter_message(
            response=f"utter_ask_secret_{method}",
            account_number=tracker.get_slot("account_number"),
        )
        return []


class ActionSwitchSecretMethod(Action):
    """The caller cannot give the secret asked for ("I don't know my PIN"): move on to the
    next one (date of birth, then ZIP code)."""

    def name(self) -> str:
        return "action_switch_secret_method"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") == "account_number":
            dispatcher.utter_message(response="utter_account_number_help")
            return []
        current = tracker.get_slot("secret_method") or "pin"
        following = NEXT_SECRET.get(current)
        if following is None:
            dispatcher.utter_message(response="utter_no_other_secret")
            return []
        dispatcher.utter_message(response=SWITCH_RESPONSE[following])
        return [SlotSet("secret_method", following)]
