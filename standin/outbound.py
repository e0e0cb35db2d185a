"""Outbound calls (Twilio's `POST Calls.json`, the app's call backs): the phone rings in the
background, with `initiated` and `ringing` progress callbacks, then answers (the call runs
its URL or document) or does not (the call ends busy, no-answer or failed). A machine
answers like a person; with `MachineDetection` the first request says which answered
(`AnsweredBy`: human or machine_start, machine_end_beep with DetectMessageEnd), as
Twilio's synchronous answering-machine detection does.

`OutboundLeg` is part of `SimulatedCall` (`leg.py`) and uses its engine (`_lock`, `_event`,
`_release_locked`, `_park_locked`, `_drive`, `_end_locked`, `_answered_locked`) and its status
callbacks (`callbacks.py`), as `Leg` (`engine.py`) declares them.
"""

from __future__ import annotations

import dataclasses

from standin.engine import Leg
from standin.line import LineState
from standin.phones import ANSWERED, MACHINE
from standin.work import Answered, Fetch, Item, Progress


class OutboundLeg(Leg):
    """A call the account places: ringing, then answered or not."""

    _answer: Item | None  # what the call does once answered
    _ring_outcome: str  # how the phone will answer (phones.py), once it has rung
    _ring_seconds: float  # how long it rings first
    machine_detection: str | None = None  # Enable | DetectMessageEnd, as asked for

    def place(self, first: Item, timeout: int, machine_detection: str | None = None) -> None:
        """Get ready to ring the phone for at most `timeout` seconds; `first` is what the
        call does when it answers. The call stays busy (queued) until then."""
        outcome, seconds = self.twilio.phones.get(self.to).ring(timeout)
        with self._lock:
            self.machine_detection = machine_detection
            self._answer = first
            self._ring_outcome = outcome
            self._ring_seconds = seconds
            self._active = True
            self._event("dialing", self.to, to=self.to)

    def ring(self) -> None:
        """The placed call's phone rings, in the background. Apart from `place` so that the
        REST API can answer first with the call queued, as Twilio does, however soon the
        phone answers."""
        outcome, seconds = self._ring_outcome, self._ring_seconds
        self.twilio.background.submit(lambda: self._ring(outcome, seconds))

    def _ring(self, outcome: str, seconds: float) -> None:
        self._progress_callback("initiated")
        with self._lock:
            if self._ended:
                self._release_locked()
                return
            self.status = "ringing"
        self._progress_callback("ringing")
        with self._lock:
            if self._ended:
                self._release_locked()
                return
            if self.twilio.timing.realtime and seconds > 0:
                self._park_locked(LineState.queued, (), seconds)
                return
        self._drive([Answered(outcome)])

    def _answered(self, outcome: str) -> list[Item] | None:
        with self._lock:
            if self._ended:
                return self._release_locked()
            if outcome not in (ANSWERED, MACHINE):
                self.status = outcome
                return self._end_locked(outcome, f"{self.to}: {outcome}")
            self._answered_locked()
            first = self._answer
            assert first is not None
            if self.machine_detection and isinstance(first, Fetch):
                first = dataclasses.replace(
                    first, extra={**first.extra, "AnsweredBy": self._answered_by(outcome)}
                )
        return [Progress("answered"), first]

    def _answered_by(self, outcome: str) -> str:
        if outcome == ANSWERED:
            return "human"
        return (
            "machine_end_beep" if self.machine_detection == "DetectMessageEnd" else "machine_start"
        )
