"""Is there a known problem where the caller lives? Needs a verified account: the service
area comes from the customer's record, the problems from the file's `outages`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.api.customers import load_directory
from actions.call_facts import verified_account
from actions.languages import call_language
from actions.summary import slot_sets


class ActionCheckOutage(Action):
    def name(self) -> str:
        return "action_check_outage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        directory = load_directory()
        account = verified_account(tracker)
        customer = directory.find(account) if account else None
        if customer is None:
            dispatcher.utter_message(response="utter_outage_needs_agent")
            return slot_sets(tracker, resolved=False)
        outage = directory.outage_in(customer.service_area, datetime.now(tz=UTC))
        language = call_language(tracker.get_slot("language"))
        if outage is None:
            dispatcher.utter_message(response="utter_no_outage", service_area=customer.service_area)
            return slot_sets(tracker, outage_status="no_known_outage", resolved=False)
        dispatcher.utter_message(
            response="utter_outage_found",
            outage_service=outage.service.in_language(language),
            service_area=customer.service_area,
            outage_note=outage.note.in_language(language),
            expected_fix=outage.expected_fix.in_language(language),
        )
        return slot_sets(tracker, outage_status="known_outage", resolved=True)
