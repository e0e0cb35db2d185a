"""The words every part of the stand-in uses about a call: what the line is doing, the events
recorded on it, the errors a caller or the REST API meets, and Twilio's call identifiers and
dates. It imports nothing else of the stand-in, so the account, the legs and the APIs can all
use it."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Any

API_VERSION = "2010-04-01"


class SimulatorError(RuntimeError):
    """The app answered something Twilio would not accept (an error status, bad TwiML), or
    the caller tried something the line does not allow right now."""


class AppError(SimulatorError):
    """The app answered what Twilio would not accept; Twilio has ended the call."""


class CallNotLive(SimulatorError):
    """A REST update of a call that has ended (Twilio's error 21220)."""


class LineState(StrEnum):
    """What the line is doing right now."""

    queued = "queued"  # an outbound call whose phone has not answered yet
    fetching = "fetching"  # Twilio is busy: a webhook request in flight, TwiML being run
    listening = "listening"  # parked at a <Gather>
    playing = "playing"  # real time: a Say, Play or Pause outside a Gather is playing
    ringing = "ringing"  # a <Dial> rings the other party (or its whisper runs there)
    bridged = "bridged"  # talking to the other party of a <Dial>
    ended = "ended"


ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class Event:
    """Something that happened on a call, in order (`seq` counts from 1 per call)."""

    seq: int
    at: float
    kind: str
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "text": self.text} | dict(
            self.data
        )


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def rfc2822(timestamp: float) -> str:
    """Twilio's date format: `Tue, 10 Aug 2010 08:02:31 +0000`."""
    return format_datetime(datetime.fromtimestamp(timestamp, UTC))
