"""The caller pressed a key at the language menu: at the start of a call on a number with
several languages (then the greeting follows, in the chosen language) or mid-call, after
pressing 9 while waiting (then they hear that the language changed, and their place in it).

The place is kept either way (queue/choose_language.lua). A choice is remembered for the
caller's number, so their next call starts in it; a withheld number is asked every time.
No key or a wrong key offers the menu once more, then keeps the call's language: the
queue's default for a caller who had none yet. 0 is a person, as at every prompt."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import language_menu, listening, speech
from app.arrival import Arrival
from app.call_context import CallContext, call_context, for_called_number
from app.calls import CallRecord, CallStore, TranscriptEntry
from app.clock import Clock
from app.history import ContactHistory
from app.job_queue import JobQueue
from app.queue_service import LanguageOutcome, QueueService
from app.queue_wait_estimate import estimate_for
from app.settings import OperatorConfig
from app.twilio_webhook import GatherResult
from app.voice_reply import GoTo, Reply, Route
from app.wait_announcement import announced

log = logging.getLogger(__name__)

# The menu is offered this many times before the call keeps the language it has.
MENU_OFFERS = 2


@dataclass(frozen=True)
class LanguageChoice:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    history: ContactHistory
    arrival: Arrival
    jobs: JobQueue
    clock: Clock

    def key_pressed(self, params: GatherResult) -> Reply:
        record = self.calls.get(params.CallSid)
        if record is None:
            log.warning("language menu for unknown call %s: a new arrival", params.CallSid)
            return self.arrival.incoming(params)
        ctx = for_called_number(self.config, params.our_number, record.language)
        if not ctx.queue.multilingual:
            return ctx.reply(GoTo(Route.wait))
        digits = params.Digits.rstrip(listening.END_OF_NUMBER)
        if digits == listening.PERSON_KEY:
            record = record.model_copy(update={"wants_agent": True})
            log.info("call %s asked for a person at the language menu", record.call_sid)
        language = language_menu.language_for_key(ctx.queue, digits)
        if language is not None:
            self._note(record, digits, language)
            return self._serve_in(ctx, record, language, remember=True)
        offers = record.language_menu_tries + 1
        if digits != listening.PERSON_KEY and offers < MENU_OFFERS:
            self.calls.save(record.model_copy(update={"language_menu_tries": offers}))
            return language_menu.offer(self.config, ctx)
        # Nothing chosen: the call keeps its language (the default for a first choice), and
        # nothing is remembered.
        asked_for_a_person = digits == listening.PERSON_KEY
        return self._serve_in(
            ctx, record, record.language, remember=False, asked_for_a_person=asked_for_a_person
        )

    def _serve_in(
        self,
        ctx: CallContext,
        record: CallRecord,
        language: str,
        *,
        remember: bool,
        asked_for_a_person: bool = False,
    ) -> Reply:
        first = record.announced_at is None  # not greeted yet: this was the first menu
        choice = self.queue_service.choose_language(ctx.queue, record.call_sid, language)
        if choice.outcome in (LanguageOutcome.unknown, LanguageOutcome.not_served):
            log.warning("call %s chose %s without a place: to waiting", record.call_sid, language)
            return ctx.reply(GoTo(Route.wait))
        if remember and record.caller:
            self.history.remember_language(record.caller, language)
        record = record.model_copy(update={"language": language, "language_menu_tries": 0})
        ctx = call_context(self.config, ctx.queue, language)
        ahead = choice.people_ahead or 0
        log.info(
            "call %s is served in %s (%s), %s ahead",
            record.call_sid,
            language,
            choice.outcome,
            ahead,
        )
        if first:
            return self.arrival.welcome(ctx, record, ahead, put_through=True)
        changed = choice.outcome is LanguageOutcome.changed
        if changed:
            self.jobs.dispatch_soon(ctx.queue.name)
        return self._after_menu(
            ctx, record, ahead, changed=changed, asked_for_a_person=asked_for_a_person
        )

    def _after_menu(
        self,
        ctx: CallContext,
        record: CallRecord,
        ahead: int,
        *,
        changed: bool,
        asked_for_a_person: bool,
    ) -> Reply:
        """Mid-call: the caller's place in their line, after saying that the language changed
        (only if it did) or that a person will take the call (0 at the menu)."""
        now = self.clock()
        snapshot = self.queue_service.snapshot(ctx.queue)
        wait = estimate_for(snapshot, ctx.queue, ahead, ctx.language, self.config.timezone)
        self.calls.save(record.model_copy(update=announced(ahead, wait, now)))
        sentences = [
            speech.people_ahead_sentence(ctx.lang, ctx.language, ahead),
            speech.wait_sentence(ctx.lang, ctx.language, wait),
        ]
        if changed and ctx.lang.prompts.language_switched is not None:
            sentences.insert(0, ctx.say(ctx.lang.prompts.language_switched))
        if asked_for_a_person:
            sentences.insert(0, ctx.say(ctx.lang.prompts.person_requested))
        return ctx.reply(*sentences, GoTo(Route.wait))

    def _note(self, record: CallRecord, digits: str, language: str) -> None:
        """For the agent: which language the caller chose, and when."""
        self.calls.add_to_transcript(
            record.call_sid,
            TranscriptEntry(
                at=self.clock(), speaker="caller", text=f"[language menu: {language}]", input="dtmf"
            ),
        )
        log.info("call %s pressed %s: %s", record.call_sid, digits, language)
