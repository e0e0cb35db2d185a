"""Real HTTP, real threads: many callers at once through a live server."""

from __future__ import annotations

import threading

from app.queue_service import QueueService
from app.settings import QueueSettings
from standin import SimulatedCall, SimulatedTwilio
from tests.conftest import SUPPORT_NUMBER


def test_fifty_simultaneous_calls_hear_fifty_distinct_places(
    live_twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings
) -> None:
    calls: list[SimulatedCall] = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def call(i: int) -> None:
        barrier.wait()
        placed = live_twilio.dial(f"+1415556{i:04d}", SUPPORT_NUMBER)
        with lock:
            calls.append(placed)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(calls) == 50
    places = sorted(queue_service.position(support, c.sid).people_ahead for c in calls)
    assert places == list(range(50))
    # What each caller heard is their real place.
    for c in calls:
        ahead = queue_service.position(support, c.sid).people_ahead
        heard = " ".join(c.heard)
        expected = {0: "You're next in line.", 1: "There is 1 person ahead of you."}.get(
            ahead, f"There are {ahead} people ahead of you."
        )
        assert expected in heard
