"""The caller at a <Gather>: keys pressed one by one (numDigits, finishOnKey, the timeout
restarting in real time), speech, silence, and a dialled phone that presses its keys by
itself (a whisper's "press 1"). What the Gather gets becomes work for the leg: its action
with the result, or the rest of the document.

`GatherLeg` is part of `SimulatedCall` (`leg.py`) and uses its engine (`_lock`, `_event`,
`_claim_locked`, `_park_locked`, `_schedule_locked`, `_drive`, `_drive_and_raise`), as `Leg`
(`engine.py`) declares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from standin import twiml
from standin.engine import Leg
from standin.line import LineState, SimulatorError
from standin.work import Fetch, Item, Resume


class GatherLeg(Leg):
    """A leg's open <Gather>, and what the person on the line does there."""

    _gather: twiml.Gather | None
    _digits: str  # keys pressed so far at the open Gather (real time)
    _auto_keys: str | None  # keys a dialled phone presses at every Gather

    # -- what the caller does at a <Gather> ------------------------------------------------

    def press(self, digits: str) -> Self:
        """Press keys at the open <Gather>. Its numDigits and finishOnKey end the input as on
        a phone (the finishing key is not sent; keys after the end are lost). Input that
        neither ends is sent when the Gather's timeout passes: at once in step mode."""
        with self._lock:
            gather = self._expect_gather("dtmf")
            items = self._keys_locked(gather, digits)  # claims the call when input ends
            if items is None:
                return self
        self._drive_and_raise(items)
        return self

    def say(self, text: str, confidence: float = 0.92) -> Self:
        with self._lock:
            gather = self._expect_gather("speech")
            self._claim_locked()
            items = self._gather_result_locked(
                gather, {"SpeechResult": text, "Confidence": f"{confidence:.2f}"}
            )
        self._drive_and_raise(items)
        return self

    def stay_silent(self) -> Self:
        """Let the Gather time out: Twilio falls through to the next verb (or posts the
        action with nothing when actionOnEmptyResult is set)."""
        with self._lock:
            gather = self._expect_gather(None)
            self._claim_locked()
            items = self._gather_timeout_locked(gather)
        self._drive_and_raise(items)
        return self

    # -- listening -------------------------------------------------------------------------

    def _park_gather_locked(
        self, gather: twiml.Gather, rest: tuple[twiml.Verb, ...]
    ) -> list[Item] | None:
        self._digits = ""
        for child in gather.children:
            self._hear_locked(child)
        self._event("listening", " ".join(sorted(gather.input)))
        timing = self.twilio.timing
        keys = self._auto_keys if "dtmf" in gather.input else None
        if keys and not timing.realtime:
            # The dialled phone presses its keys as soon as it is asked.
            self._rest = rest
            return self._keys_locked(gather, keys) or self._gather_timeout_locked(gather)
        parked = self._park_locked(LineState.listening, rest, timing.gather_seconds(gather), gather)
        if parked is None and keys:
            prompt = sum(timing.verb_seconds(child) or 0.0 for child in gather.children)
            self._schedule_locked(prompt, lambda generation: self._auto_press(generation, keys))
        return parked

    def _auto_press(self, generation: int, keys: str) -> None:
        with self._lock:
            if generation != self._generation or self._active or self._gather is None:
                return
            items = self._keys_locked(self._gather, keys)
            if items is None:
                return
            self._claim_locked()
        self._drive(items)

    def _expect_gather(self, kind: str | None) -> twiml.Gather:
        if self._ended:
            raise SimulatorError("the call has ended")
        gather = self.gather
        if gather is None:
            raise SimulatorError(
                f"the caller is not being asked for input (the line is {self._describe_state()})"
            )
        if kind is not None and kind not in gather.input:
            listens = " ".join(sorted(gather.input))
            raise SimulatorError(f"the prompt does not listen for {kind} ({listens})")
        return gather

    def _describe_state(self) -> str:
        if self.with_agent:
            return f"with {self.with_agent}"
        return {
            LineState.fetching: "waiting for the app",
            LineState.playing: "playing",
            LineState.ringing: "ringing an agent",
            LineState.queued: "not answered yet",
            LineState.ended: "ended",
        }.get(self.state, str(self.state))

    def _keys_locked(self, gather: twiml.Gather, keys: str) -> list[Item] | None:
        """Keys pressed at `gather`: the Gather's result as work, or None while it still
        waits for more (real time; its timeout is restarted)."""
        buffer, finished, lost = self._digits, False, ""
        for index, key in enumerate(keys):
            if gather.finish_on_key and key == gather.finish_on_key:
                finished, lost = True, keys[index + 1 :]
                break
            buffer += key
            if gather.num_digits is not None and len(buffer) >= gather.num_digits:
                finished, lost = True, keys[index + 1 :]
                break
        if lost and lost != gather.finish_on_key:  # a habitual # after the last digit
            self._event("keys_lost", lost)
        if not finished and self.twilio.timing.realtime:
            self._digits = buffer
            self._cancel_timers_locked()
            self._schedule_locked(gather.timeout, self._on_timer)
            return None
        self._digits = ""
        if not self._active:
            self._claim_locked()
        return self._gather_result_locked(gather, {"Digits": buffer} if buffer else None)

    def _gather_timeout_locked(self, gather: twiml.Gather) -> list[Item]:
        """Nobody said or pressed anything more: send what was keyed, or fall through."""
        digits, self._digits = self._digits, ""
        return self._gather_result_locked(gather, {"Digits": digits} if digits else None)

    def _gather_result_locked(
        self, gather: twiml.Gather, result: Mapping[str, str] | None
    ) -> list[Item]:
        if result is None and not gather.action_on_empty_result:
            return [Resume(self._rest)]
        return [Fetch(gather.action or self._url, gather.method, dict(result or {}))]
