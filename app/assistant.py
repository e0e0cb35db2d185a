"""The virtual assistant's side of a call: one caller turn through Rasa, its replies turned
into what happens next, and verification done by the app itself.

Secrets never reach Rasa: when the assistant asks for one, the app collects it, checks it
against the customer store, and tells Rasa only the outcome. Call facts (place, wait,
verified) travel as metadata with every message, so the dialogue never reads queue keys.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app import metrics
from app.calls import CallRecord, CallStore, TranscriptEntry
from app.clock import Clock
from app.customers import CustomerStore, SecretKind
from app.dialogue_client import DialogueTurn, DialogueUnavailable, RasaClient
from app.redaction import redact_secrets
from app.settings import AssistantSettings
from app.verification_limits import VerificationLimits

log = logging.getLogger(__name__)

# Slots kept with the call for the agent (dialogue/README.md, "Slots the app reads back").
KEPT_SLOTS = (
    "reason",
    "account_number",
    "verification",
    "verification_method",
    "outage_status",
    "appointment_id",
    "appointment_new_date",
    "resolved",
)


def as_caller_text(text: str) -> str:
    """What a caller said, as plain text for the dialogue and the transcript. Every Unicode
    space, line break, control and format character becomes one space, and leading slashes
    go: Rasa strips whitespace and then takes a leading "/" as an `/intent{entities}`
    command, which only the app may send (verification outcomes)."""
    plain = "".join(
        " " if char.isspace() or unicodedata.category(char).startswith("C") else char
        for char in text
    )
    return " ".join(plain.split()).lstrip("/ ")


class Next(StrEnum):
    """What the call does after the assistant has spoken."""

    listen = "listen"  # the assistant asked something: listen for speech (and keys)
    digits = "digits"  # the answer is a number: keys ending with # (and speech)
    secret = "secret"  # the app collects a secret on the keypad
    wait = "wait"  # back to hold music; 1 talks again
    handoff = "handoff"  # a person: plain waiting, place kept
    leave = "leave"  # resolved; the caller gave up their place: goodbye and hang up
    keypad_menu = "keypad_menu"  # the assistant is unavailable: the keypad menu


@dataclass(frozen=True)
class AssistantResponse:
    says: list[str]
    next: Next
    secret_kind: SecretKind | None = None
    max_digits: int | None = None
    record: CallRecord | None = None
    custom: list[dict[str, Any]] = field(default_factory=list)


def caller_message(text: str) -> str:
    """What the dialogue is sent for a caller's words: plain text, secrets said aloud taken
    out (app/redaction.py). scripts/nlu-parse sends operators' phrasing the same way."""
    return redact_secrets(as_caller_text(text))


def verification_message(outcome: str, method: str) -> str:
    """The message the app sends Rasa after checking a secret (Rasa's /intent{...} form)."""
    entities = json.dumps({"verification": outcome, "verification_method": method})
    return f"/verification_result{entities}"


def keypad_menu_message(reason: str) -> str:
    """The message telling Rasa the reason chosen on the keypad menu."""
    return f"/keypad_menu{json.dumps({'reason': reason})}"


@dataclass(frozen=True)
class Assistant:
    client: RasaClient
    customers: CustomerStore
    calls: CallStore
    settings: AssistantSettings
    limits: VerificationLimits
    clock: Clock

    @property
    def available(self) -> bool:
        return self.settings.enabled and not self.client.is_open

    def converse(
        self, record: CallRecord, message: str, facts: dict[str, Any], *, from_app: bool = False
    ) -> AssistantResponse:
        """Send one caller message (or an app message such as a verification outcome) and
        decide what happens next. Rasa unavailable: the keypad menu, place untouched."""
        if not self.settings.enabled:
            return AssistantResponse(says=[], next=Next.keypad_menu, record=record)
        if not from_app:
            # Secrets said aloud never reach Rasa (app/redaction.py).
            message = caller_message(message)
        told_first = self._untold_keypad_reason(record)
        try:
            turn = self.client.turn(
                record.call_sid, message, {"call": facts}, told_first=told_first
            )
        except DialogueUnavailable as exc:
            log.warning("assistant unavailable for %s (%s): keypad menu", record.call_sid, exc)
            metrics.TURNS.labels("keypad_menu").inc()
            return AssistantResponse(says=[], next=Next.keypad_menu, record=record)
        metrics.TURNS.labels("answered").inc()
        if told_first:
            record = record.model_copy(update={"keypad_reason_told": True})
        record = self._remember(record, turn)
        response = self._interpret(record, turn)
        for text in response.says:
            self.calls.add_to_transcript(
                record.call_sid,
                TranscriptEntry(at=self.clock(), speaker="assistant", text=text),
            )
        return response

    def _untold_keypad_reason(self, record: CallRecord) -> list[str]:
        """A reason chosen on the keypad while the assistant was unavailable is told to it
        before the next message, once, so the dialogue knows why the caller called. Its
        reply is not spoken: the caller heard the app confirm the choice."""
        if record.reason_source != "keypad" or not record.reason or record.keypad_reason_told:
            return []
        return [keypad_menu_message(record.reason)]

    def check_secret(self, record: CallRecord, value: str) -> CallRecord:
        """Check a keyed (or, for a postcode, spoken) secret. Only the outcome is kept."""
        kind = SecretKind(record.pending_secret_kind or SecretKind.pin)
        account = record.pending_secret_account or ""
        if record.verification == "locked":
            return record.model_copy(
                update={"pending_secret_kind": None, "pending_secret_account": None}
            )
        attempts = record.verification_attempts + 1
        # Locked across calls too (app/verification_limits.py).
        caller = record.caller or None
        owner = self.customers.by_account(account)
        own_number = owner is not None and caller is not None and caller in owner.phones
        customer = None
        if self.limits.exhausted(account, caller, own_number=own_number):
            outcome = "locked"
        elif (customer := self.customers.verify(account, kind, value)) is not None:
            outcome = "verified"
            self.limits.clear(account, caller)
        else:
            failures = self.limits.note_failure(account, caller)
            locked = max(attempts, failures) >= self.settings.max_verification_attempts
            outcome = "locked" if locked else "failed"
        log.info("call %s verification by %s: %s", record.call_sid, kind, outcome)
        self.calls.add_to_transcript(
            record.call_sid,
            TranscriptEntry(
                at=self.clock(),
                speaker="caller",
                text=f"[{kind.value} entered: {outcome}]",
                input="dtmf",
            ),
        )
        return record.model_copy(
            update={
                "verification": outcome,
                "verification_method": kind.value,
                "verification_attempts": attempts,
                "verified_account": customer.account_number if customer else None,
                "customer_name": customer.name if customer else None,
                "pending_secret_kind": None,
                "pending_secret_account": None,
            }
        )

    def account_hint(self, caller: str | None) -> str | None:
        customer = self.customers.by_phone(caller)
        return customer.account_number if customer else None

    def _remember(self, record: CallRecord, turn: DialogueTurn) -> CallRecord:
        kept = {name: turn.slots.get(name) for name in KEPT_SLOTS if turn.slots.get(name)}
        update: dict[str, Any] = {
            "dialogue": kept,
            "requested_slot": turn.slots.get("requested_slot"),
            "last_intent": turn.intent,
            "last_intent_confidence": turn.confidence,
        }
        if kept.get("reason") and record.reason_source != "keypad":
            update |= {"reason": kept["reason"], "reason_source": "assistant"}
        return record.model_copy(update=update)

    def _interpret(self, record: CallRecord, turn: DialogueTurn) -> AssistantResponse:
        says = [r.text for r in turn.replies if r.text]
        customs = [r.custom for r in turn.replies if r.custom]
        merged: dict[str, Any] = {}
        for custom in customs:
            merged |= custom
        if merged.get("handoff"):
            record = record.model_copy(update={"wants_agent": True, "awaiting": None})
            return AssistantResponse(says, Next.handoff, record=record, custom=customs)
        if merged.get("leave_queue"):
            return AssistantResponse(says, Next.leave, record=record, custom=customs)
        if merged.get("collect_secret"):
            kind = _secret_kind(merged["collect_secret"])
            account = re.sub(r"\D", "", str(merged.get("account_number") or ""))
            if record.verification == "locked":
                # Attempts are spent: never ask again on this call, whatever the dialogue says.
                return AssistantResponse([], Next.wait, record=record, custom=customs)
            if kind is not None and account:
                record = record.model_copy(
                    update={
                        "awaiting": "secret",
                        "pending_secret_kind": kind.value,
                        "pending_secret_account": account,
                    }
                )
                return AssistantResponse(says, Next.secret, kind, record=record, custom=customs)
            log.error("assistant asked for an unusable secret %r", merged.get("collect_secret"))
            # Never let a secret be answered on an ordinary prompt (it would reach the
            # dialogue and the transcript): the agent verifies instead.
            record = record.model_copy(update={"awaiting": None})
            return AssistantResponse([], Next.wait, record=record, custom=customs)
        if merged.get("wait"):
            record = record.model_copy(update={"awaiting": None})
            return AssistantResponse(says, Next.wait, record=record, custom=customs)
        if merged.get("expect") == "digits":
            record = record.model_copy(update={"awaiting": "digits"})
            max_digits = _int_or_none(merged.get("max_digits"))
            return AssistantResponse(
                says, Next.digits, max_digits=max_digits, record=record, custom=customs
            )
        if not says:
            # Nothing to say and nothing asked: let the caller wait rather than sit in silence.
            return AssistantResponse(says, Next.wait, record=record, custom=customs)
        record = record.model_copy(update={"awaiting": "answer"})
        return AssistantResponse(says, Next.listen, record=record, custom=customs)


def _secret_kind(value: object) -> SecretKind | None:
    try:
        return SecretKind(str(value))
    except ValueError:
        return None


def _int_or_none(value: object) -> int | None:
    if not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None
