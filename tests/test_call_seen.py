"""A wait poll reads the call's record and notes it was heard of in one round trip; a call
that ended is not watched again by a late poll."""

from __future__ import annotations

import redis

from app.calls import CallRecord, CallStore


def _read(calls: CallStore, call_sid: str, seen_at: float) -> CallRecord | None:
    batch = calls.batch()
    record = calls.get_in(batch, call_sid, seen_at)
    batch.send()
    return record()


def test_reading_a_record_can_note_the_call_was_heard_of(redis_client: redis.Redis) -> None:
    calls = CallStore(redis_client)
    record = CallRecord(call_sid="CA1", queue="support", language="en-US", started_at=100.0)
    calls.save(record)
    calls.seen("CA1", 100.0)
    assert _read(calls, "CA1", seen_at=160.0) == record
    assert calls.quiet_since(150.0) == []  # heard of at 160
    assert calls.quiet_since(170.0) == ["CA1"]
    calls.forget_seen("CA1")  # the call ended
    assert _read(calls, "CA1", seen_at=200.0) == record
    assert calls.quiet_since(1e12) == []  # not watched again
    assert _read(calls, "CA-unknown", seen_at=200.0) is None


def test_twilio_call_sids_are_kept_packed_and_read_back_whole(redis_client: redis.Redis) -> None:
    calls = CallStore(redis_client)
    twilio_sid, other = "CA" + "0123456789abcdef" * 2, "CA-not-twilio's"
    calls.seen(twilio_sid, 100.0)
    calls.seen(other, 101.0)
    members = redis_client.zrange("calls:last_seen", 0, -1)
    assert len(members[0]) == 17 and members[1] == other.encode()
    assert calls.quiet_since(200.0) == [twilio_sid, other]
    # A member written as text before CallSids were packed is forgotten all the same.
    redis_client.zadd("calls:last_seen", {twilio_sid: 99.0})
    calls.forget_seen(twilio_sid)
    assert calls.quiet_since(200.0) == [other]


def test_a_record_is_stored_without_its_defaults_and_read_back_whole(
    redis_client: redis.Redis,
) -> None:
    calls = CallStore(redis_client)
    record = CallRecord(
        call_sid="CA2", queue="support", language="en-US", started_at=100.0, announced_ahead=0
    )
    calls.save(record)
    raw = redis_client.get("call:CA2")
    assert raw is not None and b"verification" not in raw and b'"announced_ahead":0' in raw
    assert b"CA2" not in raw  # the key names the call
    assert calls.get("CA2") == record
    assert _read(calls, "CA2", seen_at=100.0) == record


def test_a_record_written_with_its_call_sid_still_reads() -> None:
    """Records stored before the CallSid was left out (kept a day) read as before."""
    from app.calls import _loaded

    older = '{"call_sid":"CA3","queue":"support","language":"en-US","started_at":1.0}'
    assert _loaded("CA3", older) == CallRecord(
        call_sid="CA3", queue="support", language="en-US", started_at=1.0
    )
