"""The caller talks while they wait: each answer at a prompt goes to the assistant (or, for a
secret, is checked by the app), and the assistant's decision becomes what the caller gets
next. "Agent", "representative" or 0 leaves the assistant at once, place kept; with the
assistant unavailable the keypad menu still records why they called."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import language_menu, listening, speech
from app.arrival import Arrival
from app.assistant import (
    Assistant,
    AssistantResponse,
    Next,
    as_caller_text,
    verification_message,
)
from app.call_context import CallContext, for_called_number
from app.callback_request import CallbackRequests
from app.calls import CallRecord, CallStore, TranscriptEntry
from app.clock import Clock
from app.customers import SecretKind
from app.person_request import asks_for_a_person
from app.queue_service import QueueService
from app.queue_wait_estimate import estimate_for
from app.redaction import (
    NOT_KEPT_KEYED,
    NOT_KEPT_SPOKEN,
    redact_all_numbers,
    redact_secrets,
    verification_expected,
)
from app.settings import OperatorConfig
from app.twilio_webhook import GatherResult
from app.voice_reply import GoTo, HangUp, Reply, Route, Say, Step
from app.wait_announcement import median_of, spoken_minutes
from app.wait_loop import WaitLoop

log = logging.getLogger(__name__)

# What the call waits for from the caller after each kind of step.
_AWAITING = {
    Next.listen: "answer",
    Next.digits: "digits",
    Next.secret: "secret",
    Next.keypad_menu: "keypad_menu",
}


@dataclass(frozen=True)
class Conversation:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    assistant: Assistant
    arrival: Arrival
    wait_loop: WaitLoop
    callback_requests: CallbackRequests
    clock: Clock

    def turn(self, params: GatherResult) -> Reply:
        """The caller spoke or pressed keys at a prompt (greeting, assistant, wait loop)."""
        record = self.calls.get(params.CallSid)
        if record is None:
            # A signed request for a call we do not know (state lost, or a request that
            # overtook the greeting): give it a place rather than drop a live caller.
            log.warning("turn for unknown call %s: answering as a new arrival", params.CallSid)
            return self.arrival.incoming(params)
        ctx = self._context(params, record)
        said = as_caller_text(params.SpeechResult)
        digits = params.Digits.rstrip(listening.END_OF_NUMBER)
        # Asked for a secret, the caller may say it instead of keying it: then none of
        # their words are kept, and the dialogue hears them without a single number.
        secret_expected = verification_expected(record)
        self._note_caller_input(record, said, digits, params.Confidence, secret_expected)
        if digits == listening.PERSON_KEY or asks_for_a_person(said, ctx.lang.human_words):
            return self._respond(ctx, record, AssistantResponse([], Next.handoff))
        if record.awaiting is None and digits == listening.ASSISTANT_KEY and not said:
            return self._assistant_again(ctx, record)
        if record.awaiting is None and digits == listening.CALLBACK_KEY and not said:
            return self.callback_requests.offer(ctx, record)
        if (
            record.awaiting is None
            and digits == listening.LANGUAGE_KEY
            and not said
            and ctx.queue.multilingual
        ):
            return language_menu.offer(self.config, ctx)
        heard = said and (
            params.Confidence is None
            or params.Confidence >= self.config.operator.assistant.min_speech_confidence
        )
        if not heard and not (digits and record.awaiting == "digits"):
            if record.awaiting in ("answer", "digits") or said:
                return self._reprompt(ctx, record)
            # Silence, or a stray key, at the greeting or while waiting: keep waiting.
            return self._respond(ctx, record, AssistantResponse([], Next.wait))
        record = record.model_copy(update={"reprompts": 0})
        message = said if heard else digits
        # Assistant.converse redacts spoken secrets from every caller message itself; while a
        # secret is expected, every number goes too.
        if secret_expected:
            message = redact_all_numbers(message)
        return self._converse(ctx, record, message)

    def secret(self, params: GatherResult) -> Reply:
        """The caller keyed (or, for a postcode, said) the secret the assistant asked for.
        The app checks it and tells the dialogue only the outcome."""
        record = self.calls.get(params.CallSid)
        if record is None or record.awaiting != "secret":
            log.warning("secret for call %s that is not being verified", params.CallSid)
            return self.wait_loop.next_round(params)
        ctx = self._context(params, record)
        digits = params.Digits.rstrip(listening.END_OF_NUMBER)
        if digits == listening.PERSON_KEY:
            return self._respond(ctx, record, AssistantResponse([], Next.handoff))
        value = digits
        if not value and record.pending_secret_kind == SecretKind.postcode.value:
            value = params.SpeechResult.strip()
        if not value:
            return self._secret_not_heard(ctx, record)
        record = self.assistant.check_secret(record.model_copy(update={"reprompts": 0}), value)
        outcome = verification_message(
            record.verification or "failed", record.verification_method or ""
        )
        return self._converse(ctx, record, outcome, from_app=True)

    def menu(self, params: GatherResult) -> Reply:
        """The keypad menu offered while the assistant is unavailable: the reason is still
        recorded for the agent."""
        record = self.calls.get(params.CallSid)
        if record is None:
            return self.arrival.incoming(params)
        ctx = self._context(params, record)
        digits = params.Digits.rstrip(listening.END_OF_NUMBER)
        if digits == listening.PERSON_KEY:
            return self._respond(ctx, record, AssistantResponse([], Next.handoff))
        reason = self.config.operator.assistant.keypad_menu.get(digits)
        if reason is None:
            return self._respond(ctx, record, AssistantResponse([], Next.wait))
        self.calls.add_to_transcript(
            record.call_sid,
            TranscriptEntry(
                at=self.clock(), speaker="caller", text=f"[keypad menu: {reason}]", input="dtmf"
            ),
        )
        record = record.model_copy(
            update={"reason": reason, "reason_source": "keypad", "keypad_reason_told": False}
        )
        log.info("call %s chose %s from the keypad menu", record.call_sid, reason)
        noted = ctx.say(ctx.lang.prompts.keypad_choice_noted)
        return self._respond(ctx, record, AssistantResponse([], Next.wait), noted)

    # -- decisions ------------------------------------------------------------------------

    def _converse(
        self, ctx: CallContext, record: CallRecord, message: str, *, from_app: bool = False
    ) -> Reply:
        result = self.assistant.converse(
            record, message, self._call_facts(ctx, record), from_app=from_app
        )
        record = result.record or record
        if (
            result.next is Next.wait
            and record.last_intent == "ask_callback"
            and ctx.queue.callbacks.enabled
            and record.caller
        ):
            # "Call me back": the assistant's acknowledgement, then the number to confirm.
            self._settle(ctx, record, Next.wait)
            said = speech.assistant_sentences(ctx.lang, result.says)
            return self.callback_requests.offer(
                ctx, record.model_copy(update={"awaiting": None}), *said
            )
        return self._respond(ctx, record, result)

    def _assistant_again(self, ctx: CallContext, record: CallRecord) -> Reply:
        """The caller pressed 1 while waiting: the assistant asks how it can help (or the
        keypad menu, while it is unavailable)."""
        if not self.assistant.available:
            return self._respond(ctx, record, AssistantResponse([], Next.keypad_menu))
        ask = ctx.say(ctx.lang.prompts.ask_how_to_help)
        return self._respond(ctx, record, AssistantResponse([], Next.listen), ask)

    def _reprompt(self, ctx: CallContext, record: CallRecord) -> Reply:
        prompts = ctx.lang.prompts
        if record.reprompts >= self.config.operator.assistant.max_reprompts:
            log.info(
                "call %s: not understood %s times, back to waiting",
                record.call_sid,
                record.reprompts,
            )
            record = record.model_copy(update={"reprompts": 0})
            gave_up = ctx.say(prompts.reprompt_gave_up)
            return self._respond(ctx, record, AssistantResponse([], Next.wait), gave_up)
        record = record.model_copy(update={"reprompts": record.reprompts + 1})
        next_step = Next.digits if record.awaiting == "digits" else Next.listen
        again = ctx.say(prompts.reprompt)
        return self._respond(ctx, record, AssistantResponse([], next_step), again)

    def _secret_not_heard(self, ctx: CallContext, record: CallRecord) -> Reply:
        """Nothing keyed: ask again, up to the limit; then the agent verifies instead."""
        prompts = ctx.lang.prompts
        if record.reprompts < self.config.operator.assistant.max_reprompts:
            record = record.model_copy(update={"reprompts": record.reprompts + 1})
            kind = SecretKind(record.pending_secret_kind or SecretKind.pin)
            again = AssistantResponse([], Next.secret, kind)
            return self._respond(ctx, record, again, ctx.say(prompts.secret_not_heard))
        record = record.model_copy(update={"pending_secret_kind": None, "reprompts": 0})
        by_agent = ctx.say(prompts.verification_by_agent)
        return self._respond(ctx, record, AssistantResponse([], Next.wait), by_agent)

    def _respond(
        self, ctx: CallContext, record: CallRecord, result: AssistantResponse, *own: Say
    ) -> Reply:
        """Save what the decision changes, then say and do what it asks: the app's `own`
        sentences first, then the assistant's."""
        self._settle(ctx, record, result.next)
        said = (*own, *speech.assistant_sentences(ctx.lang, result.says))
        return ctx.reply(*self._steps(ctx, result, said))

    def _settle(self, ctx: CallContext, record: CallRecord, next_step: Next) -> None:
        update: dict[str, object] = {"awaiting": _AWAITING.get(next_step)}
        if next_step is Next.handoff:
            update["wants_agent"] = True
            log.info("call %s asked for a person", record.call_sid)
        elif next_step is Next.leave:
            update["left_queue_at"] = self.clock()
        self.calls.save(record.model_copy(update=update))
        if next_step is Next.leave:
            left = self.queue_service.leave(ctx.queue, record.call_sid)
            log.info("call %s left the queue by choice (had a place: %s)", record.call_sid, left)

    def _steps(
        self, ctx: CallContext, result: AssistantResponse, said: tuple[Say, ...]
    ) -> list[Step]:
        prompts = ctx.lang.prompts
        match result.next:
            case Next.listen:
                return [listening.for_answer(said), GoTo(Route.wait)]
            case Next.digits:
                return [listening.for_number(said, result.max_digits), GoTo(Route.wait)]
            case Next.secret:
                spoken = result.secret_kind is SecretKind.postcode
                return [listening.for_secret(said, spoken=spoken), GoTo(Route.wait)]
            case Next.keypad_menu:
                menu = listening.for_keypad_menu((ctx.say(prompts.keypad_menu),))
                return [*said, menu, GoTo(Route.wait)]
            case Next.handoff:
                return [*(said or [ctx.say(prompts.person_requested)]), GoTo(Route.wait)]
            case Next.leave:
                return [*(said or [ctx.say(prompts.goodbye)]), HangUp()]
            case Next.wait:
                return [*said, GoTo(Route.wait)]

    # -- helpers --------------------------------------------------------------------------

    def _context(self, params: GatherResult, record: CallRecord) -> CallContext:
        return for_called_number(self.config, params.our_number, record.language)

    def _note_caller_input(
        self,
        record: CallRecord,
        said: str,
        digits: str,
        confidence: float | None,
        secret_expected: bool,
    ) -> None:
        """The caller's words (secrets redacted) or keys, for the agent. While a secret is
        expected only that something was said or keyed is kept; a single key (0 a person,
        1 the assistant) is a choice, not a secret, and is kept as it is."""
        now = self.clock()
        if said:
            text = NOT_KEPT_SPOKEN if secret_expected else redact_secrets(said)
            entry = TranscriptEntry(
                at=now, speaker="caller", text=text, input="speech", confidence=confidence
            )
        elif digits:
            keyed = NOT_KEPT_KEYED if secret_expected and len(digits) > 1 else digits
            entry = TranscriptEntry(at=now, speaker="caller", text=keyed, input="dtmf")
        else:
            return
        self.calls.add_to_transcript(record.call_sid, entry)

    def _call_facts(self, ctx: CallContext, record: CallRecord) -> dict[str, object]:
        """What the dialogue may know of the call (dialogue/README.md, "Call facts")."""
        ahead = self.queue_service.position(ctx.queue, record.call_sid).people_ahead
        wait = None
        if ahead is not None:
            snapshot = self.queue_service.snapshot(ctx.queue)
            wait = estimate_for(snapshot, ctx.queue, ahead, ctx.language, self.config.timezone)
        return {
            "language": ctx.language,
            "people_ahead": ahead,
            "wait_seconds": median_of(wait),
            "wait_minutes": spoken_minutes(wait.median) if wait else None,
            "verified": record.verification == "verified",
            "verified_account": record.verified_account
            if record.verification == "verified"
            else None,
            "caller_known": bool(record.caller),
            "account_hint": self.assistant.account_hint(record.caller or None),
        }
