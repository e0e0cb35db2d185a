"""The web app's channel (dialogue/credentials.yml): Rasa's REST channel, answering with the
conversation's slots and the intent it read beside the replies, so the app needs no second
request (the tracker, with every event of the call, as JSON) after each turn.

POST /webhooks/rest_state/webhook  {"sender", "message", "metadata"}
-> {"messages": [...as the REST channel's...], "slots": {...}, "intent": {"name", "confidence"}}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


class RestWithState(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest_state"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            collector = CollectingOutputChannel()
            # A failure is an error answer (the app then falls back to the keypad), never a
            # silent empty reply as the REST channel gives.
            await on_new_message(
                UserMessage(
                    self._extract_message(request),
                    collector,
                    sender_id,
                    input_channel=self._extract_input_channel(request),
                    metadata=self.get_metadata(request),
                )
            )
            # The turn has saved the conversation; read it back here, in the process.
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender_id)
            return response.json(
                {
                    "messages": collector.messages,
                    "slots": tracker.current_slot_values() if tracker else {},
                    "intent": _latest_intent(tracker),
                }
            )

        return webhook


def _latest_intent(tracker: DialogueStateTracker | None) -> dict[str, Any]:
    """The intent of the caller's last message (the tracker's latest_message is the one
    that started a form, while the form runs)."""
    for event in reversed(tracker.events if tracker else []):
        if isinstance(event, UserUttered):
            return dict(event.intent or {})
    return {}
