"""A <Dial> and the bridge it makes between two legs: the caller's leg, whose <Dial> rings a
phone, and the leg that opens when that phone answers (the agent's, `outbound-dial`), which
runs the whisper and then asks to be bridged.

The two legs talk only through the interface below; neither takes the other's lock or reads
its private state. The Dial's state belongs to the caller's leg, under that leg's lock.

    The caller's side (`Dialler`), asked by the dialled leg:
        awaits_bridge(leg)           is my <Dial> still waiting to bridge `leg`?
        bridge(leg)                  `leg`'s whisper is over: connect (False: the Dial is gone)
        dialled_leg_left(leg)        `leg` ended or left by itself: the Dial is over
        dialled_leg_heard(leg, text) `leg` heard a <Say> (the whisper): note it here too
        sid                          read for the dialled leg's ParentCallSid
    The dialled side (`Dialled`), told by the caller's leg:
        answer_dial()                your phone answered: run the whisper, then ask to bridge
        end_by_peer(status, reason)  the caller's side left the call: end now
        hang_up()                    the agent puts the phone down (tests, the control API)
        sid, to, answered, duration  read for the Dial's action parameters

`DiallerLeg` and `DialledLeg` implement the two sides; `SimulatedCall` (`leg.py`) is both, and
they use its engine (`_lock`, `_event`, `_claim_locked`, `_release_locked`, `_park_locked`,
`_drive`, `_end_locked`, `_end_now_locked`, `_child_leg`), as `Leg` (`engine.py`) declares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from standin import twiml
from standin.engine import Leg
from standin.line import LineState, SimulatorError, new_call_sid
from standin.phones import ANSWERED
from standin.work import BridgeParent, EndLeg, Fetch, Item, Progress, Resume, RingDone

if TYPE_CHECKING:
    from standin.leg import SimulatedCall


class Dialled(Protocol):
    """The leg a <Dial> opened, as the caller's leg sees it."""

    sid: str
    to: str

    @property
    def answered(self) -> bool: ...

    @property
    def duration(self) -> int: ...

    @property
    def ended(self) -> bool: ...

    def answer_dial(self) -> None: ...

    def end_by_peer(self, status: str, reason: str) -> None: ...

    def hang_up(self, status: str = "completed", *, reason: str = "") -> tuple[int, str]: ...


class Dialler(Protocol):
    """The caller's leg, as the leg its <Dial> opened sees it."""

    sid: str

    def awaits_bridge(self, leg: Dialled) -> bool: ...

    def bridge(self, leg: Dialled) -> bool: ...

    def dialled_leg_left(self, leg: Dialled) -> None: ...

    def dialled_leg_heard(self, leg: Dialled, text: str) -> None: ...


@dataclass
class DialState:
    """The <Dial> a caller's leg is running: what rang, and how far it got."""

    verb: twiml.Dial
    rest: tuple[twiml.Verb, ...]
    outcome: str = ""
    child: Dialled | None = None
    bridged: bool = False

    def params(self, status: str, bridged: bool) -> dict[str, str]:
        """The Dial's action parameters, as Twilio sends them."""
        params = {"DialCallStatus": status, "DialBridged": "true" if bridged else "false"}
        if self.child is not None:
            params |= {
                "DialCallSid": self.child.sid,
                "DialCallDuration": str(self.child.duration),
            }
        return params


class DiallerLeg(Leg):
    """The caller's side of a <Dial>: ring, open the agent's leg, bridge, and carry on when
    the Dial is over (its action, or the verbs after it)."""

    _dial: DialState | None
    legs: list[SimulatedCall]

    # -- seen from outside -------------------------------------------------------------

    @property
    def agent(self) -> SimulatedCall | None:
        """The leg the latest <Dial> opened (the agent's), if any."""
        return self.legs[-1] if self.legs else None

    @property
    def with_agent(self) -> str | None:
        """The address of the party this call is bridged to (`client:alice`), if any."""
        with self._lock:
            dial = self._dial
            return dial.child.to if dial and dial.bridged and dial.child else None

    def agent_hang_up(self) -> tuple[int, str]:
        """The agent this call is connected (or being connected) to hangs up."""
        with self._lock:
            child = self._dial.child if self._dial else None
        if child is None or child.ended:
            raise SimulatorError("no agent is on this call")
        return child.hang_up()

    # -- the interface the dialled leg uses (Dialler) ------------------------------------

    def awaits_bridge(self, leg: Dialled) -> bool:
        with self._lock:
            dial = self._dial
            return dial is not None and dial.child is leg and not dial.bridged

    def bridge(self, leg: Dialled) -> bool:
        with self._lock:
            dial = self._dial
            if self._ended or self._active or dial is None or dial.child is not leg:
                return False
            dial.bridged = True
            self.state = LineState.bridged
            self._event("bridged", leg.to, to=leg.to, agent_sid=leg.sid)
            return True

    def dialled_leg_left(self, leg: Dialled) -> None:
        """`leg` has ended by itself (the agent hung up, the whisper hung up) or was
        redirected away: this leg's <Dial> is over, and this thread carries the call on."""
        with self._lock:
            dial = self._dial
            if self._ended or self._active or dial is None or dial.child is not leg:
                return
            self._dial = None
            if dial.bridged:
                status, bridged = "completed", True
                self._event("agent_hung_up", leg.to, to=leg.to)
            else:
                status, bridged = "no-answer", False
                self._event("dial_ended", f"{leg.to}: hung up before the bridge", status=status)
            self._claim_locked()
            items = self._dial_over_locked(dial, status, bridged)
        self._drive(items)

    def dialled_leg_heard(self, leg: Dialled, text: str) -> None:
        with self._lock:
            self._event("agent_heard", text, to=leg.to)

    # -- running the <Dial> ---------------------------------------------------------------

    def _dial_locked(self, verb: twiml.Dial, rest: tuple[twiml.Verb, ...]) -> list[Item] | None:
        address = verb.noun.address
        outcome, seconds = self.twilio.phones.get(address).ring(verb.timeout)
        self._dial = DialState(verb, rest, outcome)
        self._event("dialing", address, to=address)
        if self.twilio.timing.realtime and seconds > 0:
            return self._park_locked(LineState.ringing, (), seconds)
        self.state = LineState.ringing
        return [RingDone()]

    def _ring_done(self) -> list[Item] | None:
        with self._lock:
            dial = self._dial
            if self._ended or dial is None:
                return self._release_locked()
            if dial.outcome != ANSWERED:
                self._dial = None
                address = dial.verb.noun.address
                self._event("dial_ended", f"{address}: {dial.outcome}", status=dial.outcome)
                return self._dial_over_locked(dial, dial.outcome, bridged=False)
            child = self._open_dialled_leg_locked(dial)
            self.state = LineState.ringing  # the caller hears ringing during the whisper
            taken_over = self._release_locked()
        if taken_over is not None:
            return taken_over
        child.answer_dial()
        return None

    def _open_dialled_leg_locked(self, dial: DialState) -> SimulatedCall:
        """The dialled phone answered: the leg it opens (a call of its own, as on Twilio)."""
        address = dial.verb.noun.address
        child = self._child_leg(
            sid=new_call_sid(),
            from_=dial.verb.caller_id or self.from_,
            to=address,
            direction="outbound-dial",
            noun=dial.verb.noun,
            url=self._url,
        )
        dial.child = child
        self.legs.append(child)
        self._event("agent_answered", address, to=address, agent_sid=child.sid)
        return child

    def _dial_over_locked(self, dial: DialState, status: str, bridged: bool) -> list[Item]:
        """The <Dial> ended with the caller still on the line: its action, or the verbs
        after it."""
        if dial.verb.action:
            return [Fetch(dial.verb.action, dial.verb.method, dial.params(status, bridged))]
        return [Resume(dial.rest)]

    def _leave_dial_locked(self) -> list[Item]:
        """The caller's leg leaves a <Dial> in progress (a redirect, a hang-up): the other
        leg is hung up and the Dial's action is requested, its TwiML ignored (what Twilio
        does when a bridged call is redirected)."""
        dial, self._dial = self._dial, None
        if dial is None:
            return []
        items: list[Item] = []
        # DialCallStatus follows the agent's leg: completed once it answered (bridged or
        # still hearing the whisper), canceled while it was only ringing.
        answered = dial.child is not None and dial.child.answered
        status = "completed" if answered else "canceled"
        if dial.child is not None:
            items.append(EndLeg(dial.child, status, "the caller's side left the call"))
        self._event("dial_ended", f"{dial.verb.noun.address}: {status}", status=status)
        if dial.verb.action:
            params = dial.params(status, dial.bridged)
            items.append(Fetch(dial.verb.action, dial.verb.method, params, ignore_twiml=True))
        return items


class DialledLeg(Leg):
    """The dialled side of a <Dial>: the whisper, then the bridge; and telling the caller's
    leg when this leg goes."""

    parent: Dialler | None

    # -- the interface the caller's leg uses (Dialled) -----------------------------------

    def answer_dial(self) -> None:
        """The dialled phone answered: its whisper (the noun's url) runs on this leg, then
        the legs are bridged. Runs in the thread of the caller's leg that rang it."""
        with self._lock:
            self._claim_locked()
            self._answered_locked()
            noun = self.noun
            assert noun is not None
            first: Item = Fetch(noun.url, noun.method) if noun.url else BridgeParent()
        self._drive([Progress("answered"), first])

    def end_by_peer(self, status: str, reason: str) -> None:
        """The other leg ended this one (the caller hung up on the agent)."""
        with self._lock:
            if self._ended:
                return
            self._end_now_locked(status, reason)
        self._send_status_callback()

    # -- asking the caller's leg ------------------------------------------------------------

    def _awaited_by_caller(self) -> bool:
        """This is a dialled leg whose caller still waits to be bridged to it."""
        return self.parent is not None and self.parent.awaits_bridge(self)

    def _bridge_parent(self) -> list[Item] | None:
        caller = self.parent
        assert caller is not None
        bridged = caller.bridge(self)
        with self._lock:
            if self._ended:
                return self._release_locked()
            if not bridged:
                return self._end_locked("completed", "the caller had gone")
            return self._park_locked(LineState.bridged, (), None)

    def _tell_caller_left(self) -> None:
        """This dialled leg has ended by itself (the agent hung up, the whisper hung up) or
        was redirected away: the caller's <Dial> is over."""
        if self.parent is not None:
            self.parent.dialled_leg_left(self)

    def _relay_heard(self, text: str) -> None:
        if self.parent is not None:
            self.parent.dialled_leg_heard(self, text)
