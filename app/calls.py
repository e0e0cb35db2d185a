"""What the product knows about one call: its queue, language, what was announced, what the
caller said. The queue's own state (ticket, place) lives in the queue scripts; this is the
context handed to the agent later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

import redis
from pydantic import BaseModel
from redis.client import Pipeline

from app.redis_batch import Batch
from app.redis_text import text

# Long enough for the agent's wrap-up and a call-back within the grace period; the contact
# history keeps what must outlive it.
CALL_RECORD_TTL_SECONDS = 24 * 3600
TRANSCRIPT_MAX_ENTRIES = 200


def _record_key(call_sid: str) -> str:
    return f"call:{call_sid}"


def _transcript_key(call_sid: str) -> str:
    return f"call:{call_sid}:transcript"


# CallSid -> when Twilio last asked about the call: a call that has gone quiet for long is
# checked with Twilio (its status callback may have been lost). Twilio's CallSids (CA and
# 32 hex digits) are kept as a zero byte and their 16 bytes (_seen_member).
_SEEN_KEY = "calls:last_seen"
_TWILIO_CALL_SID = re.compile(r"CA[0-9a-f]{32}")


def _seen_member(call_sid: str) -> bytes:
    """The sweep's member for a call: 17 bytes rather than 34 characters for Twilio's
    (every waiting caller has one: 16 bytes fewer each in Redis); others as they are."""
    if _TWILIO_CALL_SID.fullmatch(call_sid):
        return b"\x00" + bytes.fromhex(call_sid[2:])
    return call_sid.encode()


def _seen_call_sid(member: object) -> str:
    if isinstance(member, bytes) and len(member) == 17 and member[:1] == b"\x00":
        return "CA" + member[1:].hex()
    return text(member)


def _handoff_key(call_sid: str) -> str:
    return f"call:{call_sid}:handoff"


class CallRecord(BaseModel):
    call_sid: str
    queue: str
    language: str
    caller: str = ""  # E.164, or "" when withheld
    started_at: float
    restored_from: str = ""  # CallSid of the dropped call whose place (and context) this took
    # A callback: the call that asked for it (its context is this call's), on the outbound
    # call the app placed; on the call that asked, the number it is to be called on.
    callback_of: str = ""
    callback_number: str | None = None
    callback_number_tries: int = 0  # numbers keyed that could not be called
    # Rang while closed: the opening (epoch seconds) a callback would be made after.
    callback_at_opening: float | None = None
    wants_agent: bool = False
    left_queue_at: float | None = None  # chose to leave (the assistant helped, or gave up)
    # The wait announced on arrival (seconds; None = "not known yet"), kept to measure how
    # honest the estimate was once the caller is answered.
    first_announced_wait: float | None = None
    announced_ahead: int | None = None
    announced_wait: float | None = None  # seconds; None = "not known yet"
    announced_at: float | None = None
    heard_wait_menu: bool = False
    # Keys at the language menu that chose nothing (it is offered once more, then the
    # queue's default, or the language the call had, is kept).
    language_menu_tries: int = 0
    # Why they called, and who says so ("assistant" or "keypad").
    reason: str | None = None
    reason_source: str | None = None
    # A keypad choice made while the assistant was unavailable, told to it since.
    keypad_reason_told: bool = False
    # Verification is decided by the app (it checks the secret); never holds the secret.
    verification: Literal["verified", "failed", "locked"] | None = None
    verification_method: str | None = None
    verification_attempts: int = 0
    verified_account: str | None = None
    customer_name: str | None = None
    # What the assistant is waiting for from the caller.
    awaiting: Literal["answer", "digits", "secret", "keypad_menu"] | None = None
    pending_secret_kind: str | None = None
    pending_secret_account: str | None = None
    reprompts: int = 0
    # The dialogue's slots and latest intent, as read back after the last turn.
    dialogue: dict[str, Any] = {}
    # The slot the dialogue's form asks for next ("verification" while it waits for a
    # secret's outcome): what the caller says then is not kept (app/redaction.py).
    requested_slot: str | None = None
    last_intent: str | None = None
    last_intent_confidence: float | None = None


class Handoff(BaseModel):
    """Who took the call, after how long. Kept apart from the record, with which agents it
    was offered to, one hash field per fact, so a worker writing it never races a webhook
    saving the record."""

    answered_by: str | None = None
    waited_seconds: float | None = None


class TranscriptEntry(BaseModel):
    at: float
    speaker: Literal["caller", "assistant"]
    text: str
    input: Literal["speech", "dtmf", "text"] = "text"
    confidence: float | None = None
    # Said on a dropped call whose place this call restored. The same caller ID does not
    # prove the same person (it can be spoofed): the agent sees it marked as unverified.
    from_dropped_call: bool = False


def _stored(record: CallRecord) -> str:
    # Fields at their defaults are left out (read back, they are the defaults again), and
    # so is the CallSid, which the key names: a waiting caller's record is a sixth of its
    # full size, and Redis holds thousands.
    return record.model_dump_json(exclude_defaults=True, exclude={"call_sid"})


def _loaded(call_sid: str, raw: bytes | str) -> CallRecord:
    """A record as _stored wrote it, its CallSid from the key. Put into the JSON rather than
    onto the parsed record, so pydantic parses and checks it in one pass as before."""
    rest = (raw.encode() if isinstance(raw, str) else raw)[1:]  # after the opening brace
    comma = b"" if rest.lstrip() == b"}" else b","
    sid = json.dumps(call_sid).encode()  # quoted and escaped, whatever the caller passed
    return CallRecord.model_validate_json(b'{"call_sid":%s%s%s' % (sid, comma, rest))


class CallStore:
    """Call records and transcripts in Redis, expiring a day after they were last touched."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def save(self, record: CallRecord) -> None:
        self._redis.set(_record_key(record.call_sid), _stored(record), ex=CALL_RECORD_TTL_SECONDS)

    def get(self, call_sid: str) -> CallRecord | None:
        raw = self._redis.get(_record_key(call_sid))
        return _loaded(call_sid, raw) if raw else None

    def batch(self) -> Batch:
        """Commands for this Redis and others on it sent together (`get_in`)."""
        return Batch(self._redis)

    def get_in(
        self, batch: Batch, call_sid: str, seen_at: float
    ) -> Callable[[], CallRecord | None]:
        """The call's record, queued on `batch`, noting in the same round trip that the
        call was heard of at `seen_at` (the stale-call sweep asks Twilio about calls not
        heard of), if it is still watched: an ended call is not watched again. The
        function returned reads the record once the batch is sent."""

        def add(pipe: Pipeline) -> None:
            pipe.get(_record_key(call_sid))
            pipe.zadd(_SEEN_KEY, {_seen_member(call_sid): seen_at}, xx=True)

        replies = batch.queue(add)

        def record() -> CallRecord | None:
            raw, seen = replies()
            for reply in (raw, seen):
                if isinstance(reply, Exception):
                    raise reply
            return _loaded(call_sid, raw) if raw else None

        return record

    def add_to_transcript(self, call_sid: str, entry: TranscriptEntry) -> None:
        key = _transcript_key(call_sid)
        pipe = self._redis.pipeline()
        pipe.rpush(key, entry.model_dump_json())
        pipe.ltrim(key, -TRANSCRIPT_MAX_ENTRIES, -1)
        pipe.expire(key, CALL_RECORD_TTL_SECONDS)
        pipe.execute()

    def transcript(self, call_sid: str) -> list[TranscriptEntry]:
        return [
            TranscriptEntry.model_validate_json(raw)
            for raw in self._redis.lrange(_transcript_key(call_sid), 0, -1)
        ]

    def seen(self, call_sid: str, at: float) -> None:
        self._redis.zadd(_SEEN_KEY, {_seen_member(call_sid): at})

    def forget_seen(self, call_sid: str) -> None:
        # As text too: a member written before CallSids were packed.
        self._redis.zrem(_SEEN_KEY, _seen_member(call_sid), call_sid)

    def quiet_since(self, before: float, limit: int = 100) -> list[str]:
        """Calls not heard of since `before`, oldest first."""
        quiet = self._redis.zrangebyscore(_SEEN_KEY, "-inf", before, start=0, num=limit)
        return [_seen_call_sid(member) for member in quiet]

    def note_offer(self, call_sid: str, agent_id: str, at: float) -> None:
        """The call was offered to this agent: from now on they may see its context."""
        key = _handoff_key(call_sid)
        pipe = self._redis.pipeline()
        pipe.hset(key, f"offered:{agent_id}", repr(at))
        pipe.expire(key, CALL_RECORD_TTL_SECONDS)
        pipe.execute()

    def note_answered(self, call_sid: str, agent_id: str, waited: float) -> None:
        key = _handoff_key(call_sid)
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping={"answered_by": agent_id, "waited": repr(waited)})
        pipe.expire(key, CALL_RECORD_TTL_SECONDS)
        pipe.execute()

    def handoff(self, call_sid: str) -> Handoff:
        answered_by, waited = self._redis.hmget(_handoff_key(call_sid), "answered_by", "waited")
        return Handoff(
            answered_by=text(answered_by) if answered_by else None,
            waited_seconds=float(waited) if waited else None,
        )

    def was_offered_to(self, call_sid: str, agent_id: str) -> bool:
        return bool(self._redis.hexists(_handoff_key(call_sid), f"offered:{agent_id}"))

    def for_callback(self, origin_sid: str, outbound_sid: str, at: float) -> CallRecord | None:
        """The record of a callback's outbound call: the context of the call that asked for
        it (why, verified or not, language), and what was said on it. Created once (both
        the worker placing the call and the call's first webhook may ask); None when the
        asking call's record has expired."""
        existing = self.get(outbound_sid)
        if existing is not None:
            return existing
        origin = self.get(origin_sid)
        if origin is None:
            return None
        record = origin.model_copy(
            update={
                "call_sid": outbound_sid,
                "started_at": at,
                "callback_of": origin_sid,
                "callback_number": None,
                "awaiting": None,
                "announced_at": None,
                "heard_wait_menu": False,
            }
        )
        # The caller's own words on the call that asked: the callback reaches the number
        # they gave, so nothing is marked as maybe someone else's (unlike a restored place).
        entries = [entry.model_dump_json() for entry in self.transcript(origin_sid)]
        pipe = self._redis.pipeline()
        pipe.set(_record_key(outbound_sid), _stored(record), ex=CALL_RECORD_TTL_SECONDS, nx=True)
        if entries:
            key = _transcript_key(outbound_sid)
            pipe.delete(key)
            pipe.rpush(key, *entries)
            pipe.expire(key, CALL_RECORD_TTL_SECONDS)
        pipe.execute()
        return self.get(outbound_sid)

    def carry_over(self, previous_sid: str, record: CallRecord) -> CallRecord:
        """A caller restored their place: bring what was said on the dropped call, so nobody
        asks them again, each entry marked as from that call (see TranscriptEntry)."""
        previous = self.get(previous_sid)
        entries = [
            entry.model_copy(update={"from_dropped_call": True}).model_dump_json()
            for entry in self.transcript(previous_sid)
        ]
        if entries:
            key = _transcript_key(record.call_sid)
            pipe = self._redis.pipeline()
            pipe.delete(key)
            pipe.rpush(key, *entries)
            pipe.expire(key, CALL_RECORD_TTL_SECONDS)
            pipe.execute()
        if previous is None:
            return record
        return record.model_copy(
            update={
                "restored_from": previous_sid,
                "wants_agent": previous.wants_agent,
                "first_announced_wait": previous.first_announced_wait,
            }
        )
