"""A simulated call as Twilio's REST API 2010-04-01 shows it (the Call resource)."""

from __future__ import annotations

from typing import Any

from standin.leg import SimulatedCall
from standin.line import API_VERSION, rfc2822


def calls_uri(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Calls"


def call_resource(call: SimulatedCall) -> dict[str, Any]:
    """The JSON Twilio returns for a Call: the fields twilio-python's CallInstance reads."""
    uri = f"{calls_uri(call.twilio.account_sid)}/{call.sid}"
    ended = call.end_time is not None and call.start_time is not None
    return {
        "sid": call.sid,
        "account_sid": call.twilio.account_sid,
        "parent_call_sid": call.parent.sid if call.parent is not None else None,
        "to": call.to,
        "to_formatted": call.to,
        "from": call.from_,
        "from_formatted": call.from_,
        "phone_number_sid": None,
        "status": call.status,
        "direction": call.direction,
        "date_created": rfc2822(call.created_at),
        "date_updated": rfc2822(call.updated_at),
        "start_time": rfc2822(call.start_time) if call.start_time is not None else None,
        "end_time": rfc2822(call.end_time) if call.end_time is not None else None,
        # Empty for calls that are still going or never connected, as on Twilio.
        "duration": str(call.duration) if ended else None,
        "price": None,
        "price_unit": "USD",
        "answered_by": None,
        "annotation": None,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "subresource_uris": {
            name: f"{uri}/{path}.json"
            for name, path in {
                "notifications": "Notifications",
                "recordings": "Recordings",
                "events": "Events",
                "payments": "Payments",
                "siprec": "Siprec",
                "streams": "Streams",
                "transcriptions": "Transcriptions",
                "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
                "user_defined_messages": "UserDefinedMessages",
            }.items()
        },
    }
