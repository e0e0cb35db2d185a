"""The one-line summary the agent sees (slot `summary`), rebuilt from the slots each time an
action changes something. It is for the agent's screen, never spoken to the caller."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

_FIELDS = (
    ("reason", "reason"),
    ("account_number", "account"),
    ("verification", "verification"),
    ("verification_method", "method"),
    ("outage_status", "outage"),
    ("appointment_id", "appointment"),
    ("appointment_new_date", "moved to"),
    ("resolved", "resolved"),
)


def build_summary(slots: dict[str, Any]) -> str:
    parts = []
    for slot, label in _FIELDS:
        value = slots.get(slot)
        if value is None or value == "" or (slot == "resolved" and value is not True):
            continue
        parts.append(f"{label}: {'yes' if value is True else value}")
    return "; ".join(parts)


def summary_event(tracker: Tracker, **changes: Any) -> SlotSet:
    """`SlotSet("summary", ...)` for the tracker's slots with `changes` applied."""
    slots = dict(tracker.slots) | changes
    return SlotSet("summary", build_summary(slots))


def slot_sets(tracker: Tracker, **changes: Any) -> list[SlotSet]:
    """SlotSet events for `changes`, followed by the updated summary."""
    return [SlotSet(k, v) for k, v in changes.items()] + [summary_event(tracker, **changes)]
