"""The call facts the web app sends as metadata with every message (dialogue/README.md).

Rasa 3.6's REST channel passes the request's `metadata` on with the user message: an action
finds it in `tracker.latest_message["metadata"]` (checked against a running server), and
the same dict is on the latest `user` event. Actions read the queue only from here, never
from Redis's queue keys.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def message_metadata(tracker: Tracker) -> dict[str, Any]:
    """The metadata of the caller's latest message ({} if none)."""
    metadata = (tracker.latest_message or {}).get("metadata")
    if not metadata:
        latest_user = next((e for e in reversed(tracker.events) if e.get("event") == "user"), None)
        metadata = (latest_user or {}).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def call_facts(tracker: Tracker) -> dict[str, Any]:
    """`metadata.call` of the latest message: people_ahead, wait_minutes, language, ..."""
    facts = message_metadata(tracker).get("call")
    return facts if isinstance(facts, dict) else {}


def verified_account(tracker: Tracker) -> str | None:
    """The account the web app itself verified on this call (`verified_account` in the call
    facts), or None. Only this opens a customer's data: a slot such as `verification` or
    `account_number` can be set by the conversation, the call facts only by the app."""
    account = call_facts(tracker).get("verified_account")
    return account if isinstance(account, str) and account.isdigit() else None


def as_count(value: Any) -> int | None:
    """A non-negative whole number from the facts, or None when absent or malformed."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = round(float(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None
