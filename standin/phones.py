"""The phones the stand-in rings: agents' softphones, numbers and SIP addresses reached by a
<Dial>, and customers called back through the REST API. Each has a behaviour (answer now,
after a few seconds, never, busy, failed, or an answering machine); a phone nobody configured
answers at once."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import StrEnum


class Answer(StrEnum):
    now = "now"
    after = "after"
    never = "never"
    busy = "busy"
    failed = "failed"
    machine = "machine"  # an answering machine picks up at once


# What ringing a phone comes to; these are Twilio's DialCallStatus / CallStatus words, and
# MACHINE: answered, by a machine (what Twilio's answering-machine detection tells apart).
ANSWERED = "answered"
MACHINE = "machine"
NO_ANSWER = "no-answer"
BUSY = "busy"
FAILED = "failed"

_AFTER = re.compile(r"^after\s+(\d+(?:\.\d+)?)\s*s(?:ec(?:onds?)?)?$")


class PhoneBehaviourError(ValueError):
    """A behaviour that is not one of: now, after <n>s, never, busy, failed, machine."""


@dataclass(frozen=True)
class PhoneBehaviour:
    answer: Answer = Answer.now
    after_seconds: float = 0.0
    # Keys the phone presses whenever its leg's <Gather> listens for keys ("1" to accept a
    # whisper's "press 1"); None: it stays silent and the Gather times out.
    press: str | None = None

    @classmethod
    def parse(cls, text: str, press: str | None = None) -> PhoneBehaviour:
        """`now`, `after 1s` (or `after 2.5 seconds`), `never`, `busy`, `failed` or
        `machine`."""
        words = " ".join(str(text).lower().split())
        if press is not None and not re.fullmatch(r"[0-9*#]{1,40}", press):
            raise PhoneBehaviourError(f"press must be keys (0-9, * or #), not {press!r}")
        if match := _AFTER.match(words):
            return cls(Answer.after, float(match.group(1)), press)
        try:
            if words == Answer.after:
                raise ValueError(words)
            return cls(Answer(words), 0.0, press)
        except ValueError:
            raise PhoneBehaviourError(
                f"answer must be now, 'after <n>s', never, busy, failed or machine, not {text!r}"
            ) from None

    def describe(self) -> str:
        answer = f"after {self.after_seconds:g}s" if self.answer is Answer.after else self.answer
        return f"{answer}, presses {self.press}" if self.press else str(answer)

    def ring(self, timeout: float) -> tuple[str, float]:
        """What ringing this phone for at most `timeout` seconds comes to, and how many
        seconds it rings first: (answered | machine | no-answer | busy | failed, seconds)."""
        match self.answer:
            case Answer.now:
                return ANSWERED, 0.0
            case Answer.after if self.after_seconds < timeout:
                return ANSWERED, self.after_seconds
            case Answer.after | Answer.never:
                return NO_ANSWER, float(timeout)
            case Answer.busy:
                return BUSY, 0.0
            case Answer.machine:
                return MACHINE, 0.0
        return FAILED, 0.0


class Phones:
    """Behaviour per address (`client:alice`, `+15005550101`, `sip:carol@...`), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviours: dict[str, PhoneBehaviour] = {}

    def set(self, address: str, behaviour: PhoneBehaviour) -> None:
        with self._lock:
            self._behaviours[address] = behaviour

    def get(self, address: str) -> PhoneBehaviour:
        with self._lock:
            return self._behaviours.get(address, PhoneBehaviour())

    def all(self) -> dict[str, PhoneBehaviour]:
        with self._lock:
            return dict(self._behaviours)

    def reset(self) -> None:
        with self._lock:
            self._behaviours.clear()
