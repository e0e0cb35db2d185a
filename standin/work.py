"""The work a leg's thread does, one item at a time (`SimulatedCall._drive` runs them in
order): request a URL, carry on with a document, a phone's ringing coming to an end, a
dialled party's whisper ending, the other leg to end, a status callback. Items are plain
values, so what a step decides can be handed to whichever thread runs the call next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from standin import twiml

if TYPE_CHECKING:
    from standin.dial import Dialled


@dataclass(frozen=True)
class Fetch:
    """Request a URL and run the TwiML it returns (or only request it: `ignore_twiml`)."""

    url: str
    method: str = "POST"
    extra: Mapping[str, str] = field(default_factory=dict)
    status: str | None = None  # CallStatus to send; None: the call's own status
    ignore_twiml: bool = False


@dataclass(frozen=True)
class Resume:
    """Carry on with the rest of a document."""

    verbs: tuple[twiml.Verb, ...]


@dataclass(frozen=True)
class RingDone:
    """The phone a <Dial> rang answered, or did not."""


@dataclass(frozen=True)
class Answered:
    """An outbound call's phone answered, or did not."""

    outcome: str


@dataclass(frozen=True)
class BridgeParent:
    """A dialled party's whisper is over: connect them to the caller."""


@dataclass(frozen=True)
class EndLeg:
    """End another leg (the agent's, when the caller goes)."""

    leg: Dialled
    status: str
    reason: str


@dataclass(frozen=True)
class Progress:
    """A call-progress status callback (initiated, ringing, answered)."""

    event: str


@dataclass(frozen=True)
class Finish:
    """The call has ended: its status callback, then let the other leg know."""


Item = Fetch | Resume | RingDone | Answered | BridgeParent | EndLeg | Progress | Finish
