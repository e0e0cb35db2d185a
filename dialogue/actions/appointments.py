"""Look up and move a service appointment while the caller waits (verified callers only).

Flow: say the current appointment and offer the next 3 weekdays (customer's time zone, the
current date excluded) -> the caller names a day -> confirm -> store the change in Redis
(`actions.api.appointments`) -> confirm, `resolved` = true.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api.appointments import StoreError, get_store
from actions.api.customers import Appointment, load_directory
from actions.call_facts import verified_account
from actions.dates import (
    next_weekdays,
    pick_offered_day,
    speak_date,
    today_for_customer,
)
from actions.languages import call_language
from actions.summary import slot_sets

OPTION_COUNT = 3


def upcoming_appointment(tracker: Tracker, today: date) -> Appointment | None:
    """The verified caller's next appointment, with any earlier rescheduling applied."""
    account = verified_account(tracker)
    if account is None:
        return None
    customer = load_directory().find(account)
    if customer is None or not customer.appointments:
        return None
    current = get_store().current(customer.account_number, customer.appointments)
    upcoming = sorted(
        (a for a in current if date.fromisoformat(a.date) >= today), key=lambda a: a.date
    )
    wanted = tracker.get_slot("appointment_id")
    return next((a for a in upcoming if a.id == wanted), upcoming[0] if upcoming else None)


def option_variables(options: list[str], language: str) -> dict[str, str]:
    return {
        f"option_{i + 1}": speak_date(date.fromisoformat(day), language)
        for i, day in enumerate(options)
    }


class ActionShowAppointment(Action):
    def name(self) -> str:
        return "action_show_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if verified_account(tracker) is None:
            dispatcher.utter_message(response="utter_appointment_needs_agent")
            dispatcher.utter_message(response="utter_keep_place")
            return slot_sets(tracker, resolved=False)
        today = today_for_customer()
        try:
            appointment = upcoming_appointment(tracker, today)
        except StoreError:
            appointment = None
        if appointment is None:
            dispatcher.utter_message(response="utter_no_appointment")
            dispatcher.utter_message(response="utter_keep_place")
            return slot_sets(tracker, resolved=False)
        language = call_language(tracker.get_slot("language"))
        booked = date.fromisoformat(appointment.date)
        options = [
            d.isoformat() for d in next_weekdays(today, OPTION_COUNT, exclude=frozenset({booked}))
        ]
        dispatcher.utter_message(
            response="utter_current_appointment",
            appointment_kind=appointment.kind.in_language(language),
            appointment_day=speak_date(booked, language),
            appointment_window=appointment.window.in_language(language),
        )
        dispatcher.utter_message(
            response="utter_offer_dates", **option_variables(options, language)
        )
        return [
            SlotSet("appointment_options", options),
            SlotSet("appointment_candidate", None),
            *slot_sets(tracker, appointment_id=appointment.id),
        ]


class ActionOfferAppointmentDates(Action):
    """The caller said no to the day picked: offer the same days again."""

    def name(self) -> str:
        return "action_offer_appointment_dates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        options = tracker.get_slot("appointment_options")
        if not options:
            dispatcher.utter_message(response="utter_no_appointment_in_progress")
            return []
        language = call_language(tracker.get_slot("language"))
        dispatcher.utter_message(
            response="utter_offer_dates_again", **option_variables(options, language)
        )
        return [SlotSet("appointment_candidate", None)]


class ActionPickAppointmentDate(Action):
    """The caller named a day: if it is on offer, ask them to confirm it."""

    def name(self) -> str:
        return "action_pick_appointment_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        options = tracker.get_slot("appointment_options")
        if not options:
            dispatcher.utter_message(response="utter_no_appointment_in_progress")
            return []
        language = call_language(tracker.get_slot("language"))
        said = " ".join(
            [str(v) for v in tracker.get_latest_entity_values("date")]
            + [tracker.latest_message.get("text") or ""]
        )
        today = today_for_customer()
        offered = [date.fromisoformat(d) for d in options]
        chosen, named_a_day = pick_offered_day(said, offered, today, language)
        if chosen is None:
            response = "utter_date_not_offered" if named_a_day else "utter_date_not_understood"
            dispatcher.utter_message(response=response, **option_variables(options, language))
            return [SlotSet("appointment_candidate", None)]
        try:
            appointment = upcoming_appointment(tracker, today)
        except StoreError:
            appointment = None
        dispatcher.utter_message(
            response="utter_confirm_new_date",
            new_day=speak_date(chosen, language),
            appointment_window=appointment.window.in_language(language) if appointment else "",
        )
        return [SlotSet("appointment_candidate", chosen.isoformat())]


class ActionRescheduleAppointment(Action):
    """The caller confirmed the day: store the change and say it is done."""

    def name(self) -> str:
        return "action_reschedule_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        candidate = tracker.get_slot("appointment_candidate")
        account = verified_account(tracker)
        try:
            appointment = upcoming_appointment(tracker, today_for_customer())
            if not candidate or appointment is None or not account:
                raise LookupError("nothing to move")
            get_store().move(account, appointment, candidate)
        except (StoreError, LookupError):
            dispatcher.utter_message(response="utter_appointment_move_failed")
            return slot_sets(tracker, resolved=False)
        language = call_language(tracker.get_slot("language"))
        dispatcher.utter_message(
            response="utter_appointment_moved",
            appointment_kind=appointment.kind.in_language(language),
            new_day=speak_date(date.fromisoformat(candidate), language),
            appointment_window=appointment.window.in_language(language),
        )
        return [
            SlotSet("appointment_candidate", None),
            SlotSet("appointment_options", None),
            *slot_sets(
                tracker,
                appointment_id=appointment.id,
                appointment_new_date=candidate,
                resolved=True,
            ),
        ]
