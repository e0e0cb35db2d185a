"""Twilio webhook requests: signature, then shape, then size (design: "Checks in order").

An unsigned request is refused with 403 before anything else is looked at, so it learns
nothing about what a valid request would be. The whole body is also capped (Flask's
MAX_CONTENT_LENGTH) because a signature can only be checked after reading it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from flask import Response, abort, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from twilio.request_validator import RequestValidator

from app import logs

log = logging.getLogger(__name__)

# Twilio's own requests are a few kilobytes; a long SpeechResult is well under 2,000 chars.
MAX_BODY_BYTES = 64 * 1024
MAX_FIELD_CHARS = 2048

# What Twilio sends in `From` when the caller withheld their number, and spellings seen from
# carriers. Such callers can never restore a place or be identified by number.
_WITHHELD = {
    "",
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "unavailable",
    "blocked",
    # Placeholders Twilio puts in From for anonymous, restricted, unknown, unavailable and
    # blocked caller IDs: valid-looking E.164, shared by strangers.
    "+266696687",
    "+7378742833",
    "+8656696",
    "+86282452253",
    "+2562533",
}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Twilio's Direction of a call the app placed through the REST API (a callback).
PLACED_BY_APP = "outbound-api"

Sid = Annotated[str, Field(pattern=r"^CA[0-9a-f]{32}$")]
AccountSid = Annotated[str, Field(pattern=r"^AC[0-9a-f]{32}$")]
Address = Annotated[str, Field(max_length=256)]


class CallStatus(StrEnum):
    queued = "queued"
    ringing = "ringing"
    in_progress = "in-progress"
    completed = "completed"
    busy = "busy"
    failed = "failed"
    no_answer = "no-answer"
    canceled = "canceled"

    @property
    def ended(self) -> bool:
        return self in {
            CallStatus.completed,
            CallStatus.busy,
            CallStatus.failed,
            CallStatus.no_answer,
            CallStatus.canceled,
        }


class VoiceRequest(BaseModel):
    """The parameters of every Twilio voice request that the app relies on."""

    model_config = ConfigDict(extra="allow", frozen=True)

    CallSid: Sid
    AccountSid: AccountSid
    From: Address = ""
    To: Address
    CallStatus: CallStatus
    # inbound, or outbound-api for a call the app placed (a callback), outbound-dial for a
    # <Dial>'s leg.
    Direction: str = Field(default="inbound", max_length=32)

    @property
    def our_number(self) -> str:
        """The contact centre's number on this call, which says its queue."""
        return centre_number(self.To, self.From, self.Direction)

    @property
    def caller_number(self) -> str | None:
        """The caller's E.164 number (on a callback, the number called), or None when
        withheld, unknown or not a phone number."""
        number = (self.To if self.Direction == PLACED_BY_APP else self.From).strip()
        if number.lower() in _WITHHELD or not _E164.match(number):
            return None
        return number


class GatherResult(VoiceRequest):
    """A <Gather> action: speech with its confidence, or keys pressed."""

    SpeechResult: str = ""
    Confidence: float | None = Field(default=None, ge=0, le=1)
    Digits: Annotated[str, Field(pattern=r"^[0-9*#]*$", max_length=64)] = ""


class CallbackAnswer(VoiceRequest):
    """The first request of a callback's outbound call, after Twilio's answering-machine
    detection: human, machine_start, machine_end_beep, machine_end_silence, fax or
    unknown."""

    AnsweredBy: str = Field(default="", max_length=32)


class AgentLegRequest(VoiceRequest):
    """A request on the leg that rings an agent (`<Dial>`'s noun url): `To` is the agent's
    address (client:name, a number, a SIP URI), `ParentCallSid` the caller's call."""

    ParentCallSid: Sid


class DialCallStatus(StrEnum):
    completed = "completed"
    answered = "answered"
    busy = "busy"
    no_answer = "no-answer"
    failed = "failed"
    canceled = "canceled"


class DialResult(VoiceRequest):
    """`<Dial action>`: how the attempt to reach the agent ended."""

    DialCallStatus: DialCallStatus
    DialCallSid: Annotated[str, Field(pattern=r"^CA[0-9a-f]{32}$")] | None = None
    DialCallDuration: int | None = Field(default=None, ge=0)


M = TypeVar("M", bound=VoiceRequest)


def _public_url() -> str:
    """The URL Twilio called, rebuilt from PUBLIC_BASE_URL: behind a proxy the Host header
    and scheme seen here are not what Twilio signed."""
    query = request.query_string.decode("latin-1")
    base = current_app.config["SETTINGS"].base_url
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _error(status: int, reason: str) -> Response:
    response = jsonify(error=reason)
    response.status_code = status
    return response


def centre_number(to: str, from_: str, direction: str) -> str:
    """The contact centre's number on a call: the number dialled (`To`), or, on a call the
    app placed (a callback), the one it was placed from (`From`)."""
    return from_ if direction == PLACED_BY_APP else to


def _queue_name(params: VoiceRequest) -> str:
    """The queue a request is about, for the logs: a callback's URL names it, else the
    centre's number on the call does."""
    config = current_app.config["OPERATOR_CONFIG"]
    named = config.find_queue(request.args.get("queue", ""))
    return str((named or config.queue_for_number(params.our_number)).name)


def twilio_webhook(model: type[M]) -> Callable[[Callable[[M], Any]], Callable[[], Any]]:
    """Validate a Twilio webhook and hand the view its parameters as `model`."""

    def decorate(view: Callable[[M], Any]) -> Callable[[], Any]:
        @functools.wraps(view)
        def wrapper() -> Any:
            validator = RequestValidator(current_app.config["SETTINGS"].auth_token)
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature or not validator.validate(_public_url(), request.form, signature):
                log.warning("refused unsigned or forged request to %s", request.path)
                abort(_error(403, "invalid or missing X-Twilio-Signature"))
            try:
                params = model.model_validate(request.form.to_dict())
            except ValidationError as exc:
                fields = ", ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                abort(_error(400, f"malformed Twilio request: {fields}"))
            oversized = [k for k, v in request.form.items() if len(v) > MAX_FIELD_CHARS]
            if oversized:
                abort(_error(413, f"field(s) longer than {MAX_FIELD_CHARS}: {oversized}"))
            with logs.about_call(params.CallSid, _queue_name(params)):
                return view(params)

        return wrapper

    return decorate
