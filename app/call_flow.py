"""What the caller hears next: each Twilio request becomes a queue action plus TwiML.

Views translate HTTP into these calls; everything a caller hears is decided here, with
sentences from the operator's YAML and TwiML built with twilio's VoiceResponse.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from app import business_hours, speech
from app.assistant import (
    Assistant,
    AssistantResponse,
    Next,
    redact_secrets,
    verification_message,
)
from app.calls import CallRecord, CallStore, TranscriptEntry
from app.customers import SecretKind
from app.history import ContactHistory, Outcome, summary_of
from app.job_queue import JobQueue
from app.queue_service import (
    AgentState,
    CallState,
    EndOutcome,
    QueueService,
    QueueSnapshot,
    SlotOutcome,
)
from app.settings import LanguageSettings, OperatorConfig, QueueSettings
from app.twilio_webhook import GatherResult, VoiceRequest
from app.wait_estimate import estimate_wait_seconds

log = logging.getLogger(__name__)

# Twilio-facing URLs other than the two fixed webhooks: the project's choice, reached only
# through the TwiML below.
TURN_URL = "/voice/turn"
WAIT_URL = "/voice/wait"
SECRET_URL = "/voice/secret"
MENU_URL = "/voice/menu"

PERSON_KEY = "0"  # at any prompt: a person, now
ASSISTANT_KEY = "1"  # while waiting: talk to the assistant again


# What the call waits for from the caller after each kind of step.
_AWAITING = {
    Next.listen: "answer",
    Next.digits: "digits",
    Next.secret: "secret",
    Next.keypad_menu: "keypad_menu",
}


@dataclass(frozen=True)
class CallContext:
    """Where a call is: its queue and the language it is spoken to in."""

    queue: QueueSettings
    language: str
    lang: LanguageSettings


class CallFlow:
    """The use cases of a call in the queue, one method per Twilio request."""

    def __init__(
        self,
        config: OperatorConfig,
        queue_service: QueueService,
        calls: CallStore,
        assistant: Assistant,
        history: ContactHistory,
        jobs: JobQueue,
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._queue = queue_service
        self._calls = calls
        self._assistant = assistant
        self._history = history
        self._jobs = jobs
        self._clock = clock

    # -- requests -------------------------------------------------------------------------

    def incoming(self, params: VoiceRequest) -> str:
        """A call arrives (or Twilio retries): take or restore the slot and greet."""
        ctx = self._context(params.To)
        now = self._clock()
        open_now = business_hours.is_open(self._config.operator, _utc(now))
        caller = params.caller_number
        slot = self._queue.take_slot(ctx.queue, params.CallSid, caller, allow_new=open_now)
        if slot.outcome is SlotOutcome.closed:
            log.info("call %s arrived while closed", params.CallSid)
            return self._closed(ctx, now)
        if slot.outcome is SlotOutcome.ended:
            log.info("late request for ended call %s: no place taken", params.CallSid)
            return one_verb_document(VoiceResponse.hangup)
        if slot.outcome is SlotOutcome.serving:
            # Already bridged to an agent: keep that call as it is (an empty document would
            # hang it up).
            return one_verb_document(VoiceResponse.pause, length=1)

        record = self._calls.get(params.CallSid)
        if record is None:
            record = CallRecord(
                call_sid=params.CallSid,
                queue=ctx.queue.name,
                language=ctx.language,
                caller=caller or "",
                started_at=now,
            )
            if slot.previous_call_sid:
                record = self._calls.carry_over(slot.previous_call_sid, record)
        log.info(
            "call %s took ticket %s (%s), %s ahead",
            params.CallSid,
            slot.ticket,
            slot.outcome,
            slot.people_ahead,
        )
        snapshot = self._queue.snapshot(ctx.queue)
        wait = self._estimate(ctx.queue, slot.people_ahead, snapshot)
        if slot.outcome in (SlotOutcome.new, SlotOutcome.restored) and any(
            state is AgentState.available for state in snapshot.agents.values()
        ):
            # Someone is free now: the caller hears the greeting while a worker puts them
            # through (the REST redirect interrupts whatever is playing).
            self._jobs.dispatch_soon(ctx.queue.name)
        update: dict[str, object] = {
            "announced_ahead": slot.people_ahead,
            "announced_wait": wait,
            "announced_at": now,
        }
        if slot.outcome is SlotOutcome.new:
            update["first_announced_wait"] = wait
        record = record.model_copy(update=update)
        self._calls.save(record)
        self._calls.seen(params.CallSid, now)

        prompts = ctx.lang.prompts
        response = VoiceResponse()
        gather = self._gather(ctx, speech_too=True)
        sentences = [prompts.greeting.format(company=self._config.operator.company)]
        if slot.outcome is SlotOutcome.restored:
            sentences.append(prompts.place_restored)
        sentences += [
            prompts.place_guaranteed,
            speech.people_ahead_sentence(ctx.lang, ctx.language, slot.people_ahead),
            speech.wait_sentence(ctx.lang, ctx.language, wait),
        ]
        if caller is None:
            sentences.append(prompts.withheld_number)
        if record.wants_agent:
            sentences.append(prompts.person_requested)
        else:
            sentences += [prompts.offer_help, prompts.how_to_reach_a_person]
        for sentence in sentences:
            say(gather, ctx, sentence)
        response.append(gather)
        response.redirect(WAIT_URL)
        return str(response)

    def turn(self, params: GatherResult) -> str:
        """The caller spoke or pressed keys at a prompt (greeting, assistant, wait loop)."""
        record = self._calls.get(params.CallSid)
        if record is None:
            # A signed request for a call we do not know (state lost, or a request that
            # overtook the greeting): give it a place rather than drop a live caller.
            log.warning("turn for unknown call %s: answering as a new arrival", params.CallSid)
            return self.incoming(params)
        ctx = self._context(params.To, record.language)
        said = redact_secrets(params.SpeechResult.strip())
        digits = params.Digits.rstrip("#")
        self._note_caller_input(record, said, digits, params.Confidence)

        if digits == PERSON_KEY or wants_a_person(said, ctx.lang.human_words):
            return self._render(ctx, record, AssistantResponse(says=[], next=Next.handoff))
        if record.awaiting is None and digits == ASSISTANT_KEY and not said:
            if not self._assistant.available:
                return self._render(ctx, record, AssistantResponse([], Next.keypad_menu))
            return self._render(
                ctx, record, AssistantResponse([ctx.lang.prompts.ask_how_to_help], Next.listen)
            )
        heard = said and (
            params.Confidence is None
            or params.Confidence >= self._config.operator.assistant.min_speech_confidence
        )
        if not heard and not (digits and record.awaiting == "digits"):
            if record.awaiting in ("answer", "digits") or said:
                return self._reprompt(ctx, record)
            # Silence, or a stray key, at the greeting or while waiting: keep waiting.
            return self._render(ctx, record, AssistantResponse([], Next.wait))
        message = said if heard else digits
        record = record.model_copy(update={"reprompts": 0})
        result = self._assistant.converse(record, message, self._call_facts(ctx, record))
        return self._render(ctx, result.record or record, result)

    def secret(self, params: GatherResult) -> str:
        """The caller keyed (or, for a postcode, said) the secret the assistant asked for.
        The app checks it and tells the dialogue only the outcome."""
        record = self._calls.get(params.CallSid)
        if record is None or record.awaiting != "secret":
            log.warning("secret for call %s that is not being verified", params.CallSid)
            return self.wait(params)
        ctx = self._context(params.To, record.language)
        prompts = ctx.lang.prompts
        digits = params.Digits.rstrip("#")
        if digits == PERSON_KEY:
            return self._render(ctx, record, AssistantResponse(says=[], next=Next.handoff))
        value = digits
        if not value and record.pending_secret_kind == SecretKind.postcode.value:
            value = params.SpeechResult.strip()
        if not value:
            if record.reprompts < self._config.operator.assistant.max_reprompts:
                record = record.model_copy(update={"reprompts": record.reprompts + 1})
                kind = SecretKind(record.pending_secret_kind or SecretKind.pin)
                return self._render(
                    ctx, record, AssistantResponse([prompts.secret_not_heard], Next.secret, kind)
                )
            record = record.model_copy(update={"pending_secret_kind": None, "reprompts": 0})
            return self._render(
                ctx, record, AssistantResponse([prompts.verification_by_agent], Next.wait)
            )
        record = self._assistant.check_secret(record.model_copy(update={"reprompts": 0}), value)
        outcome = verification_message(
            record.verification or "failed", record.verification_method or ""
        )
        result = self._assistant.converse(
            record, outcome, self._call_facts(ctx, record), from_app=True
        )
        return self._render(ctx, result.record or record, result)

    def menu(self, params: GatherResult) -> str:
        """The keypad menu offered while the assistant is unavailable: the reason is still
        recorded for the agent."""
        record = self._calls.get(params.CallSid)
        if record is None:
            return self.incoming(params)
        ctx = self._context(params.To, record.language)
        digits = params.Digits.rstrip("#")
        if digits == PERSON_KEY:
            return self._render(ctx, record, AssistantResponse(says=[], next=Next.handoff))
        reason = self._config.operator.assistant.keypad_menu.get(digits)
        if reason is None:
            return self._render(ctx, record, AssistantResponse([], Next.wait))
        self._calls.add_to_transcript(
            record.call_sid,
            TranscriptEntry(
                at=self._clock(), speaker="caller", text=f"[keypad menu: {reason}]", input="dtmf"
            ),
        )
        record = record.model_copy(update={"reason": reason, "reason_source": "keypad"})
        log.info("call %s chose %s from the keypad menu", record.call_sid, reason)
        return self._render(
            ctx, record, AssistantResponse([ctx.lang.prompts.keypad_choice_noted], Next.wait)
        )

    def wait(self, params: VoiceRequest) -> str:
        """One round of the wait loop: an update when due and changed, then hold music with
        the keypad (and, if the operator allows, speech) listening."""
        record = self._calls.get(params.CallSid)
        if record is None:
            log.warning("wait for unknown call %s: answering as a new arrival", params.CallSid)
            return self.incoming(params)
        ctx = self._context(params.To, record.language)
        position = self._queue.position(ctx.queue, params.CallSid)
        if position.state is CallState.unknown:
            log.warning("call %s has no place in %s: taking one", params.CallSid, ctx.queue.name)
            return self.incoming(params)
        response = VoiceResponse()
        if position.state is CallState.serving:
            return one_verb_document(VoiceResponse.pause, length=1)

        now = self._clock()
        self._calls.seen(params.CallSid, now)
        ahead = position.people_ahead or 0
        wait = self._estimate(ctx.queue, ahead)
        due = (
            record.announced_at is None
            or now - record.announced_at >= ctx.queue.announce_every_seconds
        )
        changed = ahead != record.announced_ahead or speech.wait_sentence(
            ctx.lang, ctx.language, wait
        ) != speech.wait_sentence(ctx.lang, ctx.language, record.announced_wait)

        gather = self._gather(ctx, speech_too=self._config.operator.listen_for_speech_while_waiting)
        # Back in the wait loop: whatever a prompt was waiting for is over, so "1" opens
        # the assistant again.
        updates: dict[str, object] = {"awaiting": None} if record.awaiting else {}
        if due and changed:
            say(gather, ctx, speech.people_ahead_sentence(ctx.lang, ctx.language, ahead))
            say(gather, ctx, speech.wait_sentence(ctx.lang, ctx.language, wait))
            updates |= {"announced_ahead": ahead, "announced_wait": wait, "announced_at": now}
        if updates or not record.heard_wait_menu:
            # The keys are explained on the first round and with every update.
            say(gather, ctx, ctx.lang.prompts.wait_menu)
            updates["heard_wait_menu"] = True
        if updates:
            self._calls.save(record.model_copy(update=updates))
        if self._config.operator.hold_music_url:
            gather.play(self._config.operator.hold_music_url)
        else:
            gather.pause(length=ctx.queue.announce_every_seconds)
        response.append(gather)
        response.redirect(WAIT_URL)
        return str(response)

    def ended(self, params: VoiceRequest) -> str:
        """Call status changed. Only an end matters: an unserved caller keeps their place
        for the grace period. Unknown and repeated callbacks change nothing."""
        if not params.CallStatus.ended:
            return "ignored"
        queue = self._config.queue_for_number(params.To)
        outcome = self.end(queue, params.CallSid)
        log.info("call %s ended (%s): %s", params.CallSid, params.CallStatus, outcome)
        return outcome.value

    def end(self, queue: QueueSettings, call_sid: str) -> EndOutcome:
        """The call is over (its status callback, or Twilio says so when asked): settle its
        place and agent, and write it into the contact history."""
        outcome = self._queue.end_call(queue, call_sid)
        self._calls.forget_seen(call_sid)
        self._remember(call_sid, outcome)
        return outcome

    def _remember(self, call_sid: str, outcome: EndOutcome) -> None:
        """Write the call into the customer's contact history (once: a repeated callback
        finds the contact already written)."""
        record = self._calls.get(call_sid)
        if record is None:
            return  # never queued (closed hours, or not a call of ours)
        if outcome is EndOutcome.unknown and self._history.contact(call_sid) is not None:
            return
        handoff = self._calls.handoff(call_sid)
        if outcome is EndOutcome.finished or handoff.answered_by:
            result = Outcome.answered
        elif record.left_queue_at is not None:
            result = Outcome.left
        else:
            result = Outcome.dropped
        self._history.record_call(summary_of(record, handoff, result, self._clock()))

    # -- helpers --------------------------------------------------------------------------

    def _note_caller_input(
        self, record: CallRecord, said: str, digits: str, confidence: float | None
    ) -> None:
        now = self._clock()
        if said:
            entry = TranscriptEntry(
                at=now, speaker="caller", text=said, input="speech", confidence=confidence
            )
        elif digits:
            entry = TranscriptEntry(at=now, speaker="caller", text=digits, input="dtmf")
        else:
            return
        self._calls.add_to_transcript(record.call_sid, entry)

    def _call_facts(self, ctx: CallContext, record: CallRecord) -> dict[str, object]:
        """What the dialogue may know of the call (dialogue/README.md, "Call facts")."""
        position = self._queue.position(ctx.queue, record.call_sid)
        ahead = position.people_ahead
        wait = self._estimate(ctx.queue, ahead) if ahead is not None else None
        return {
            "language": ctx.language,
            "people_ahead": ahead,
            "wait_seconds": wait,
            "wait_minutes": speech.spoken_minutes(wait) if wait is not None else None,
            "verified": record.verification == "verified",
            "caller_known": bool(record.caller),
            "account_hint": self._assistant.account_hint(record.caller or None),
        }

    def _reprompt(self, ctx: CallContext, record: CallRecord) -> str:
        prompts = ctx.lang.prompts
        if record.reprompts >= self._config.operator.assistant.max_reprompts:
            log.info(
                "call %s: not understood %s times, back to waiting",
                record.call_sid,
                record.reprompts,
            )
            record = record.model_copy(update={"reprompts": 0})
            return self._render(
                ctx, record, AssistantResponse([prompts.reprompt_gave_up], Next.wait)
            )
        record = record.model_copy(update={"reprompts": record.reprompts + 1})
        next_step = Next.digits if record.awaiting == "digits" else Next.listen
        return self._render(ctx, record, AssistantResponse([prompts.reprompt], next_step))

    def _render(self, ctx: CallContext, record: CallRecord, result: AssistantResponse) -> str:
        """Save what changed and turn the assistant's decision into TwiML."""
        response = VoiceResponse()
        update: dict[str, object] = {"awaiting": _AWAITING.get(result.next)}
        if result.next is Next.handoff:
            update["wants_agent"] = True
            log.info("call %s asked for a person", record.call_sid)
        elif result.next is Next.leave:
            update["left_queue_at"] = self._clock()
        record = record.model_copy(update=update)
        self._calls.save(record)

        prompts = ctx.lang.prompts
        match result.next:
            case Next.listen | Next.digits | Next.secret:
                gather = self._answer_gather(ctx, result)
                for text in result.says:
                    say(gather, ctx, text)
                response.append(gather)
                response.redirect(WAIT_URL)
            case Next.keypad_menu:
                for text in result.says:
                    say(response, ctx, text)
                gather = Gather(
                    action=MENU_URL, method="POST", input="dtmf", num_digits=1, timeout=5
                )
                say(gather, ctx, prompts.keypad_menu)
                response.append(gather)
                response.redirect(WAIT_URL)
            case Next.handoff:
                for text in result.says or [prompts.person_requested]:
                    say(response, ctx, text)
                response.redirect(WAIT_URL)
            case Next.leave:
                left = self._queue.leave(ctx.queue, record.call_sid)
                log.info(
                    "call %s left the queue by choice (had a place: %s)", record.call_sid, left
                )
                for text in result.says or [prompts.goodbye]:
                    say(response, ctx, text)
                response.hangup()
            case Next.wait:
                for text in result.says:
                    say(response, ctx, text)
                response.redirect(WAIT_URL)
        return str(response)

    def _answer_gather(self, ctx: CallContext, result: AssistantResponse) -> Gather:
        """Listen for the answer to what the assistant just asked. An empty result still
        comes back (actionOnEmptyResult), so silence can be reprompted."""
        options: dict[str, object] = {
            "method": "POST",
            "action_on_empty_result": True,
            "language": ctx.language,
        }
        if result.next is Next.secret:
            spoken = result.secret_kind is SecretKind.postcode
            options |= {
                "action": SECRET_URL,
                "input": "dtmf speech" if spoken else "dtmf",
                "finish_on_key": "#",
                "timeout": 10,
            }
        elif result.next is Next.digits:
            options |= {
                "action": TURN_URL,
                "input": "dtmf speech",
                "finish_on_key": "#",
                "timeout": 8,
                "speech_timeout": "auto",
                "speech_model": ctx.lang.speech_model,
            }
            if result.max_digits:
                options["num_digits"] = result.max_digits
        else:
            options |= {
                "action": TURN_URL,
                "input": "speech dtmf",
                "num_digits": 1,
                "timeout": 5,
                "speech_timeout": "auto",
                "speech_model": ctx.lang.speech_model,
            }
            if ctx.lang.speech_hints:
                options["hints"] = ", ".join(ctx.lang.speech_hints)
        return Gather(**options)

    def _context(self, called: str, language: str | None = None) -> CallContext:
        return call_context(self._config, self._config.queue_for_number(called), language)

    def _estimate(
        self, queue: QueueSettings, people_ahead: int, snapshot: QueueSnapshot | None = None
    ) -> float | None:
        snapshot = snapshot or self._queue.snapshot(queue)
        return estimate_wait_seconds(
            people_ahead,
            snapshot.handle_times,
            agents_working=snapshot.agents_working,
            min_samples=queue.estimate_min_samples,
        )

    def _gather(self, ctx: CallContext, *, speech_too: bool) -> Gather:
        options: dict[str, object] = {
            "action": TURN_URL,
            "method": "POST",
            "num_digits": 1,
            "timeout": 3,
        }
        if speech_too:
            options |= {
                "input": "speech dtmf",
                "language": ctx.language,
                "speech_timeout": "auto",
                "speech_model": ctx.lang.speech_model,
            }
            if ctx.lang.speech_hints:
                options["hints"] = ", ".join(ctx.lang.speech_hints)
        else:
            options["input"] = "dtmf"
        return Gather(**options)

    def _closed(self, ctx: CallContext, now: float) -> str:
        prompts = ctx.lang.prompts
        operator = self._config.operator
        response = VoiceResponse()
        say(response, ctx, prompts.closed.format(company=operator.company))
        say(response, ctx, prompts.opening_hours)
        local_now = _utc(now)
        opening = business_hours.next_opening(operator, local_now)
        if opening is not None:
            local = local_now.astimezone(opening.tzinfo)
            say(response, ctx, speech.next_opening_sentence(ctx.lang, local, opening))
        say(response, ctx, prompts.goodbye)
        response.hangup()
        return str(response)


def call_context(
    config: OperatorConfig, queue: QueueSettings, language: str | None = None
) -> CallContext:
    """A call in `queue`, spoken to in its own language if the operator has prompts for it
    (else the queue's)."""
    code = language if language in config.operator.languages else queue.language
    return CallContext(queue=queue, language=code, lang=config.language(code))


def say(target: VoiceResponse | Gather, ctx: CallContext, text: str) -> None:
    """Speak a sentence in the call's language and voice."""
    target.say(text, voice=ctx.lang.voice, language=ctx.language)


def wants_a_person(said: str, human_words: list[str]) -> bool:
    """True when the caller's words ask for a human ("agent", "a real person", ...)."""
    text = " ".join(re.findall(r"\w+", said.lower()))
    return any(
        re.search(rf"\b{re.escape(word.lower())}\b", text) is not None for word in human_words
    )


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def one_verb_document(verb: Callable[..., object], *args: object, **kwargs: object) -> str:
    """A document of one verb. (VoiceResponse's verb methods return the verb, not the
    response: `str(VoiceResponse().hangup())` would be a bare <Hangup/>, which Twilio
    refuses.)"""
    response = VoiceResponse()
    verb(response, *args, **kwargs)
    return str(response)
