"""Contact history: every call a customer made, how it ended and what the agent wrote, shown
to whoever takes their next call. Found by verified account, else by phone number; kept
for the operator's retention period (`agent_console.contact_history_days`).

Each contact is one Redis hash (`contact:<CallSid>`) with one field per writer: `call` is
written when the call ends, `wrap_up` by the agent afterwards, so neither overwrites the
other. Per customer, sorted sets index the contacts by time.
"""

from __future__ import annotations

from enum import StrEnum

import redis
from pydantic import BaseModel, Field

from app.calls import CallRecord, Handoff
from app.redis_text import text

NOTES_MAX_CHARS = 2000


class Outcome(StrEnum):
    answered = "answered"  # talked to an agent
    dropped = "dropped"  # hung up (or the line dropped) before an agent answered
    left = "left"  # chose to leave the queue (the assistant had helped, or they gave up)
    callback_requested = "callback_requested"  # hung up to be called back in their turn
    callback_not_reached = "callback_not_reached"  # the last try of a callback missed them


class CallSummary(BaseModel):
    """What is known when the call ends."""

    call_sid: str
    queue: str
    started_at: float
    ended_at: float
    language: str | None = None  # the language the caller was served in
    caller: str = ""
    account: str | None = None
    customer_name: str | None = None
    reason: str | None = None
    verification: str | None = None
    verification_method: str | None = None
    summary: str | None = None
    outcome: Outcome
    agent_id: str | None = None
    waited_seconds: float | None = None


class WrapUp(BaseModel):
    agent_id: str
    agent_name: str
    disposition: str
    notes: str = Field(default="", max_length=NOTES_MAX_CHARS)
    at: float


class Contact(BaseModel):
    call: CallSummary
    wrap_up: WrapUp | None = None


def summary_of(
    record: CallRecord, handoff: Handoff, outcome: Outcome, ended_at: float
) -> CallSummary:
    """The contact as the history keeps it: never a secret, a name only once verified."""
    verified = record.verification == "verified"
    summary = record.dialogue.get("summary")
    return CallSummary(
        call_sid=record.call_sid,
        queue=record.queue,
        started_at=record.started_at,
        ended_at=ended_at,
        language=record.language,
        caller=record.caller,
        account=record.verified_account if verified else None,
        customer_name=record.customer_name if verified else None,
        reason=record.reason,
        verification=record.verification,
        verification_method=record.verification_method,
        summary=str(summary) if summary else None,
        outcome=outcome,
        agent_id=handoff.answered_by,
        waited_seconds=handoff.waited_seconds,
    )


def _contact_key(call_sid: str) -> str:
    return f"contact:{call_sid}"


def _language_key(phone: str) -> str:
    return f"history:language:{phone}"


def _index_keys(account: str | None, phone: str | None) -> list[str]:
    keys = []
    if account:
        keys.append(f"history:account:{account}")
    if phone:
        keys.append(f"history:phone:{phone}")
    return keys


class ContactHistory:
    def __init__(self, client: redis.Redis, retention_days: int) -> None:
        self._redis = client
        self._retention = retention_days * 86400

    def record_call(self, summary: CallSummary) -> None:
        """The call ended: remember it under the customer's account and number."""
        self._write(summary.call_sid, "call", summary.model_dump_json(), summary)

    def record_wrap_up(self, summary: CallSummary, wrap_up: WrapUp) -> None:
        """The agent's disposition and notes for a call (written again, replaced)."""
        self._write(summary.call_sid, "wrap_up", wrap_up.model_dump_json(), summary)

    def remember_language(self, phone: str, language: str) -> None:
        """The language this number's caller chose: their next call starts in it. Only for
        real numbers (a withheld caller is asked every time)."""
        if phone:
            self._redis.set(_language_key(phone), language, ex=self._retention)

    def remembered_language(self, phone: str) -> str | None:
        if not phone:
            return None
        raw = self._redis.get(_language_key(phone))
        return text(raw) if raw else None

    def contact(self, call_sid: str) -> Contact | None:
        fields = self._redis.hgetall(_contact_key(call_sid))
        if b"call" not in fields:
            return None
        wrap_up = fields.get(b"wrap_up")
        return Contact(
            call=CallSummary.model_validate_json(fields[b"call"]),
            wrap_up=WrapUp.model_validate_json(wrap_up) if wrap_up else None,
        )

    def earlier_contacts(
        self,
        account: str | None,
        phone: str | None,
        *,
        before_call: str,
        now: float,
        limit: int,
    ) -> list[Contact]:
        """The customer's contacts, newest first, under their account and their number
        (the same contact once), without the call `before_call` itself."""
        keys = _index_keys(account, phone)
        if not keys:
            return []
        oldest = now - self._retention
        pipe = self._redis.pipeline()
        for key in keys:
            pipe.zrevrangebyscore(key, "+inf", oldest, start=0, num=limit + 1, withscores=True)
        seen: dict[str, float] = {}
        for rows in pipe.execute():
            for sid, at in rows:
                seen[sid.decode()] = at
        ordered = sorted(seen, key=seen.__getitem__, reverse=True)
        contacts = []
        for sid in ordered:
            if sid == before_call:
                continue
            found = self.contact(sid)
            if found is not None:  # expired with its retention
                contacts.append(found)
            if len(contacts) == limit:
                break
        return contacts

    def _write(self, call_sid: str, field: str, value: str, summary: CallSummary) -> None:
        key = _contact_key(call_sid)
        pipe = self._redis.pipeline()
        pipe.hset(key, field, value)
        pipe.expire(key, self._retention)
        for index in _index_keys(summary.account, summary.caller or None):
            pipe.zadd(index, {call_sid: summary.started_at})
            # Old contacts leave the index with their retention, not only by key expiry.
            pipe.zremrangebyscore(index, "-inf", summary.ended_at - self._retention)
            pipe.expire(index, self._retention)
        pipe.execute()
