"""What a wait poll costs: one Redis round trip (the record, "still heard of" and the place
together), the queue read whole only when what the estimate learns from moved, and a long
line replayed in the background while the previous estimate is said."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import redis

from app.queue_service import QueueService, QueueSnapshot
from app.queue_wait_estimate import (
    BACKGROUND_LINE_POSITIONS,
    LINE_REUSE_SECONDS,
    LONG_LINE_MIN_SECONDS,
    POLL_LINE_MIN_SECONDS,
    PollEstimates,
)
from app.settings import QueueSettings
from standin import SimulatedTwilio, new_call_sid
from tests.conftest import SUPPORT_NUMBER, Clock
from tests.test_wait_estimate import answer

UTC = ZoneInfo("UTC")


def a_team_with_history(queue_service: QueueService, queue: QueueSettings, clock: Clock) -> None:
    """Five finished calls, then three agents on calls: an estimate can be made."""
    for i in range(5):
        sid = answer(queue_service, queue, f"agent-000{i}")
        clock.advance(100 + 30 * i)
        queue_service.end_call(queue, sid)
    for i in range(3):
        answer(queue_service, queue, f"agent-100{i}")


def a_line_of(
    waiting: int, queue_service: QueueService, queue: QueueSettings, clock: Clock
) -> tuple[PollEstimates, CountedSnapshots]:
    """A team with history, `waiting` callers, and estimates that count the queue's reads."""
    a_team_with_history(queue_service, queue, clock)
    for _ in range(waiting):
        queue_service.take_slot(queue, new_call_sid(), None)
    return PollEstimates(), CountedSnapshots(queue_service, queue)


class CountedSnapshots:
    def __init__(self, queue_service: QueueService, queue: QueueSettings) -> None:
        self.reads = 0
        self._read: Callable[[], QueueSnapshot] = lambda: queue_service.snapshot(queue)

    def __call__(self) -> QueueSnapshot:
        self.reads += 1
        return self._read()


def test_a_wait_poll_costs_one_redis_round_trip(
    twilio: SimulatedTwilio,
    queue_service: QueueService,
    support: QueueSettings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a_team_with_history(queue_service, support, clock)
    call = twilio.dial("+14155550170", SUPPORT_NUMBER)
    status, first = twilio.post("/voice/wait", call.base_params())
    assert status == 200 and "<Redirect" in first  # estimated the wait, saved the menu heard
    sent: list[bytes] = []
    real_send = redis.connection.AbstractConnection.send_packed_command

    def counted(self: redis.connection.AbstractConnection, command: object, check: bool = True):  # type: ignore[no-untyped-def]
        sent.append(b"")
        return real_send(self, command, check)  # type: ignore[arg-type]

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    clock.advance(2)
    status, again = twilio.post("/voice/wait", call.base_params())
    assert status == 200 and "<Redirect" in again
    assert len(sent) == 1


def test_the_queue_is_read_whole_again_only_when_the_estimate_s_inputs_moved(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    estimates, snapshots = a_line_of(3, queue_service, support, clock)

    def ask(inputs: str) -> object:
        return estimates.estimate(support, "en-US", 2, inputs, clock(), snapshots, UTC)

    first = ask("7")
    assert first is not None and snapshots.reads == 1
    clock.advance(LINE_REUSE_SECONDS - 1)
    assert ask("7") is first and snapshots.reads == 1  # nothing moved
    clock.advance(2)
    ask("7")
    assert snapshots.reads == 2  # too old
    clock.advance(POLL_LINE_MIN_SECONDS / 2)
    ask("8")
    assert snapshots.reads == 2  # moved, but read less than a second ago
    clock.advance(POLL_LINE_MIN_SECONDS)
    ask("8")
    assert snapshots.reads == 3


def test_a_long_line_is_replayed_in_the_background_while_the_last_estimate_is_said(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    estimates, snapshots = a_line_of(BACKGROUND_LINE_POSITIONS + 10, queue_service, support, clock)
    ahead = BACKGROUND_LINE_POSITIONS

    def ask(inputs: str) -> object:
        return estimates.estimate(support, "en-US", ahead, inputs, clock(), snapshots, UTC)

    first = ask("1")
    assert first is not None and snapshots.reads == 1
    clock.advance(LONG_LINE_MIN_SECONDS - 1)
    assert ask("2") is first and snapshots.reads == 1  # moved, but a long line waits longer
    clock.advance(2)  # old: replayed on a thread, the old estimate said meanwhile
    assert ask("1") is first
    estimates.settle(timeout=30)
    assert snapshots.reads == 2
    replayed = ask("1")
    assert replayed is not first and snapshots.reads == 2


def test_polls_that_find_the_line_old_together_replay_it_once(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    """A worker's first polls, or a burst after a quiet spell: one replays, the rest wait."""
    estimates, snapshots = a_line_of(3, queue_service, support, clock)
    start = threading.Barrier(8)

    def ask(_: int) -> object:
        start.wait(timeout=10)
        return estimates.estimate(support, "en-US", 2, "1", clock(), snapshots, UTC)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert snapshots.reads == 1
    assert answers[0] is not None and all(answer is answers[0] for answer in answers)


def test_a_poll_on_a_server_that_lost_its_scripts_loads_them_and_answers(
    queue_service: QueueService, support: QueueSettings, redis_client: redis.Redis
) -> None:
    """A restarted or failed-over Redis has no scripts: the pipelined poll's NOSCRIPT is
    answered by running it the ordinary way, which loads it."""
    sid = new_call_sid()
    queue_service.take_slot(support, sid, None)
    redis_client.script_flush()
    assert queue_service.poll(support, sid).position.people_ahead == 0
    assert queue_service.poll(support, sid).position.people_ahead == 0  # loaded again
