"""A leg as its parts see it. `SimulatedCall` (`leg.py`) is built from parts, one job each:
the <Gather> (`gather.py`), both sides of a <Dial> (`dial.py`), outbound ringing
(`outbound.py`) and status callbacks (`callbacks.py`). Each part uses the leg it belongs to:
what is known about the call, its lock and events, and its engine (claiming the call, parking
it, running work, ending it). `Leg` declares all of that, once.

The parts subclass `Leg` so the type checker knows what `self` offers them. Every member is
provided ahead of `Leg` in `SimulatedCall`'s method resolution order, by the leg itself or by
another part (`with_agent` is the Dial's, `_progress_callback` the status callbacks'), so the
bodies here never run. It is a Protocol so that those bodies count as abstract: a member no
one provides makes `SimulatedCall` abstract, which the type checker reports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from standin import twiml
from standin.line import LineState
from standin.work import Item

if TYPE_CHECKING:
    from standin.account import SimulatedTwilio
    from standin.leg import SimulatedCall


class Leg(Protocol):
    """What the parts of a leg use of it."""

    # -- what is known about the call ---------------------------------------------------

    twilio: SimulatedTwilio
    sid: str
    from_: str
    to: str
    status: str
    state: LineState
    noun: twiml.DialNoun | None  # what a <Dial> rang to open this leg (dialled legs)

    @property
    def ended(self) -> bool: ...

    @property
    def answered(self) -> bool: ...

    @property
    def duration(self) -> int: ...

    @property
    def gather(self) -> twiml.Gather | None: ...

    @property
    def with_agent(self) -> str | None: ...

    def base_params(self, status: str = "in-progress") -> dict[str, str]: ...

    def hang_up(self, status: str = "completed", *, reason: str = "") -> tuple[int, str]: ...

    # -- the engine -----------------------------------------------------------------------

    _lock: threading.RLock
    _ended: bool
    _active: bool
    _generation: int
    _rest: tuple[twiml.Verb, ...]
    _url: str

    def _event(self, kind: str, text: str = "", **data: Any) -> None: ...

    def _claim_locked(self) -> None: ...

    def _release_locked(self) -> list[Item] | None: ...

    def _drive(self, items: list[Item]) -> str | None: ...

    def _drive_and_raise(self, items: list[Item]) -> None: ...

    def _park_locked(
        self,
        state: LineState,
        rest: tuple[twiml.Verb, ...],
        seconds: float | None,
        gather: twiml.Gather | None = None,
    ) -> list[Item] | None: ...

    def _schedule_locked(self, seconds: float, then: Callable[[int], None]) -> None: ...

    def _cancel_timers_locked(self) -> None: ...

    def _on_timer(self, generation: int) -> None: ...

    def _hear_locked(self, verb: twiml.Say | twiml.Play | twiml.Pause) -> None: ...

    def _answered_locked(self) -> None: ...

    def _end_locked(self, status: str, reason: str) -> list[Item]: ...

    def _end_now_locked(self, status: str, reason: str) -> list[Item]: ...

    def _child_leg(
        self, sid: str, from_: str, to: str, *, direction: str, noun: twiml.DialNoun, url: str
    ) -> SimulatedCall: ...

    # -- status callbacks -----------------------------------------------------------------

    def _progress_callback(self, event: str) -> None: ...

    def _send_status_callback(self) -> tuple[int, str]: ...
