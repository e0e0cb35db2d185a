"""A wait poll reads the call's record and notes it was heard of in one round trip; a call
that ended is not watched again by a late poll."""

from __future__ import annotations

import redis

from app.calls import CallRecord, CallStore


def test_reading_a_record_can_note_the_call_was_heard_of(redis_client: redis.Redis) -> None:
    calls = CallStore(redis_client)
    record = CallRecord(call_sid="CA1", queue="support", language="en-US", started_at=100.0)
    calls.save(record)
    calls.seen("CA1", 100.0)
    assert calls.get("CA1", seen_at=160.0) == record
    assert calls.quiet_since(150.0) == []  # heard of at 160
    assert calls.quiet_since(170.0) == ["CA1"]
    calls.forget_seen("CA1")  # the call ended
    assert calls.get("CA1", seen_at=200.0) == record
    assert calls.quiet_since(1e12) == []  # not watched again
    assert calls.get("CA-unknown", seen_at=200.0) is None
