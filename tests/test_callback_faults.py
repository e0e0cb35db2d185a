"""Callbacks through faults with real processes: Redis killed (SIGKILL) with callbacks
pending and started again on its append-only file loses none of them and keeps their order;
status callbacks of an outbound call duplicated, late and out of order change nothing."""

from __future__ import annotations

import redis

from app.queue_service import AgentState, CallbackRequest, QueueService
from app.settings import QueueSettings
from standin import new_call_sid
from tests.conftest import Clock
from tests.own_redis import OwnRedis
from tests.test_queue_rules import caller_number

LEASE, CALLBACK_LEASE = 50, 120


def test_redis_killed_and_restarted_keeps_every_pending_callback_in_order(
    own_redis: OwnRedis, support: QueueSettings, clock: Clock
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    queue = QueueService(client, clock=clock)
    sids = [new_call_sid() for _ in range(5)]
    for i, sid in enumerate(sids):
        queue.take_slot(support, sid, caller_number(i))
    for i in (1, 3):
        assert queue.request_callback(support, sids[i], caller_number(i))[0] is (
            CallbackRequest.requested
        )
        queue.end_call(support, sids[i])
    opening = clock() + 3600
    assert queue.book_at_opening(
        support, new_call_sid(), "+14155559999", "+14155559999", "en-US", opening
    )
    client.close()

    own_redis.kill()  # a crash: only what the append-only file has survives
    own_redis.start()

    client = redis.Redis.from_url(own_redis.url)
    queue = QueueService(client, clock=clock)
    try:
        assert queue.snapshot(support).callbacks == 3
        clock.advance(3600)
        served = []
        for _ in range(6):
            queue.set_agent_state(support, "bob", AgentState.available)
            offer = queue.dispatch(support, LEASE, CALLBACK_LEASE)
            if offer is None:
                break
            served.append(offer.callback_number or offer.call_sid)
            sid = offer.call_sid
            if offer.is_callback:  # the worker places it and the caller answers
                sid = new_call_sid()
                assert queue.callback_placed(support, offer.attempt, sid)
            assert queue.connect(support, sid, "bob") is not None
            queue.end_call(support, sid)
        assert served == [
            sids[0],
            caller_number(1),
            sids[2],
            caller_number(3),
            sids[4],
            "+14155559999",
        ]
    finally:
        client.close()
