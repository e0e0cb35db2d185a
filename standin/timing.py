"""Time in the stand-in: how long a verb lasts, and the threads that make things happen
later (a Gather timing out, a phone answering after a few rings, a REST redirect).

Two modes. Step mode (`realtime=False`, the tests' default): nothing takes time; a call parks
at a <Gather> until someone acts, a phone that answers does so at once and one that never
answers gives `no-answer` at once. Real-time mode (the demo server): Say, Play and Pause take
their length, a Gather left alone times out and Twilio's fall-through happens by itself,
phones ring for as long as their behaviour says. `time_scale` shrinks every wait (tests use
a small one, so a 5-second Gather timeout takes 50 ms).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from standin import twiml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    realtime: bool = False
    # How long one <Play> lasts (the stand-in does not download the audio).
    music_seconds: float = 20.0
    # How fast <Say> speaks; 150 words a minute is an ordinary speaking rate.
    words_per_second: float = 2.5
    # Real seconds per simulated second.
    time_scale: float = 1.0

    def verb_seconds(self, verb: twiml.Say | twiml.Play | twiml.Pause) -> float | None:
        """Simulated seconds the verb plays for; None when it plays until interrupted."""
        if not self.realtime:
            return 0.0
        match verb:
            case twiml.Say(text=text, loop=loop):
                return len(text.split()) / self.words_per_second * max(loop, 1)
            case twiml.Play(transcript=str(transcript)):
                # A clip of a recorded sentence: as long as saying its words (the first
                # clip carries them all).
                return len(transcript.split()) / self.words_per_second
            case twiml.Play(loop=0):
                return None
            case twiml.Play(loop=loop):
                return self.music_seconds * loop
            case twiml.Pause(length=length):
                return float(length)
        return 0.0

    def gather_seconds(self, gather: twiml.Gather) -> float | None:
        """How long a Gather listens when nobody answers: what it plays, then its timeout.
        None: forever (step mode, or a Play that loops without end)."""
        if not self.realtime:
            return None
        total = 0.0
        for child in gather.children:
            seconds = self.verb_seconds(child)
            if seconds is None:
                return None
            total += seconds
        return total + gather.timeout

    def real(self, simulated_seconds: float) -> float:
        return simulated_seconds * self.time_scale


class Timer:
    """A scheduled callback; `cancel()` makes sure it does not run (if it has not started)."""

    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Background:
    """A worker pool for work that must not run in the thread that asked for it (a REST
    redirect's webhook, a timer's consequence), and one timer thread for every call.

    Threads start on first use, so a step-mode stand-in that never needs them has none.
    `close()` stops the timer thread and waits for running work."""

    def __init__(self, workers: int = 32, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, work: Callable[[], None]) -> None:
        """Run `work` on a pool thread; an exception is logged, never lost silently."""
        with self._cond:
            if self._closed:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="standin")
            pool = self._pool
        pool.submit(self._logged, work)

    def call_later(self, delay: float, work: Callable[[], None]) -> Timer:
        """Run `work` on a pool thread after `delay` real seconds, unless cancelled."""
        timer = Timer(self._clock() + max(delay, 0.0), work)
        with self._cond:
            if self._closed:
                timer.cancel()
                return timer
            heapq.heappush(self._heap, (timer.deadline, next(self._seq), timer))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run_timers, name="standin-timers", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return timer

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
            thread, pool = self._thread, self._pool
        if thread is not None:
            thread.join()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_timers(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > self._clock()):
                    timeout = self._heap[0][0] - self._clock() if self._heap else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                _, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                self.submit(timer.callback)

    @staticmethod
    def _logged(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("stand-in background work failed")
