"""Answers "how long?" and "where am I in the queue?" from the call facts the app sends with
every message (people_ahead, wait_minutes), never from the queue's keys."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.call_facts import as_count, call_facts


def wait_responses(people_ahead: int | None, wait_minutes: int | None) -> list[tuple[str, dict]]:
    """The responses (with their variables) that answer "how long" for these facts."""
    if people_ahead is None:
        return [("utter_queue_position_unknown", {})]
    if people_ahead == 0:
        answer = [("utter_people_ahead_none", {})]
    elif people_ahead == 1:
        answer = [("utter_people_ahead_one", {})]
    else:
        answer = [("utter_people_ahead_many", {"people_ahead": people_ahead})]
    if wait_minutes is None:
        answer.append(("utter_wait_minutes_unknown", {}))
    elif wait_minutes == 0:
        answer.append(("utter_wait_minutes_under_one", {}))
    elif wait_minutes == 1:
        answer.append(("utter_wait_minutes_one", {}))
    else:
        answer.append(("utter_wait_minutes_many", {"wait_minutes": wait_minutes}))
    return answer


class ActionTellWaitTime(Action):
    def name(self) -> str:
        return "action_tell_wait_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        facts = call_facts(tracker)
        for response, variables in wait_responses(
            as_count(facts.get("people_ahead")), as_count(facts.get("wait_minutes"))
        ):
            dispatcher.utter_message(response=response, **variables)
        if not tracker.active_loop_name:
            # Nothing pending: back to the hold music. Inside the verification form the form
            # asks its question again instead.
            dispatcher.utter_message(response="utter_resume_waiting")
        return []
