"""Asking to be called back instead of holding, on the caller's line: the number is
confirmed (the caller ID by default, or one keyed in), checked (callback_number.py), and the
ticket is kept exactly where it is for the callback (queue/request_callback.lua). The caller
hears when to expect the call and hangs up."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import listening, speech
from app.call_context import CallContext, for_called_number
from app.callback_number import CallbackNumber, NumberProblem, check
from app.calls import CallRecord, CallStore, TranscriptEntry
from app.clock import Clock
from app.queue_service import CallbackRequest, QueueService
from app.queue_wait_estimate import estimate_for
from app.settings import OperatorConfig
from app.twilio_webhook import GatherResult, VoiceRequest
from app.voice_reply import GoTo, HangUp, Listen, Reply, Route, Say

log = logging.getLogger(__name__)

CONFIRM_KEY = "1"
OTHER_NUMBER_KEY = "2"
# Numbers keyed that cannot be called before the caller is sent back to waiting.
MAX_NUMBER_TRIES = 2
# Longest number a caller may key (E.164's 15 digits plus an exit code).
MAX_NUMBER_DIGITS = 18


@dataclass(frozen=True)
class CallbackRequests:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    clock: Clock

    def offer(self, ctx: CallContext, record: CallRecord, *before: Say) -> Reply:
        """The caller asked for a callback (the key, or the assistant understood): confirm
        their number, or ask for one when theirs cannot be called. `before` is said
        first."""
        settings = ctx.queue.callbacks
        if not settings.enabled:
            return ctx.reply(*before, GoTo(Route.wait))
        found = check(record.caller, settings.countries)
        if isinstance(found, CallbackNumber):
            self.calls.save(record.model_copy(update={"callback_number": found.e164}))
            return self._confirm(ctx, found, *before)
        return ctx.reply(self._ask_for_number(ctx, *before, self._refusal(ctx, found)))

    def offer_at_opening(self, params: GatherResult) -> Reply:
        """Closed: the caller pressed the key for a callback after opening."""
        record = self.calls.get(params.CallSid)
        if record is None or record.callback_at_opening is None:
            return Reply((HangUp(),))
        ctx = self._context(params, record)
        if params.Digits.rstrip(listening.END_OF_NUMBER) != listening.CALLBACK_KEY:
            return self._not_booked(ctx, record)
        return self.offer(ctx, record)

    def choice(self, params: GatherResult) -> Reply:
        """1: call me on that number; 2: another number; anything else: keep waiting."""
        record = self.calls.get(params.CallSid)
        if record is None:
            return Reply((GoTo(Route.wait),))
        ctx = self._context(params, record)
        digits = params.Digits.rstrip(listening.END_OF_NUMBER)
        if digits == CONFIRM_KEY and record.callback_number:
            return self._book(ctx, record, record.callback_number)
        if digits == OTHER_NUMBER_KEY:
            return ctx.reply(self._ask_for_number(ctx))
        return self._not_booked(ctx, record)

    def number(self, params: GatherResult) -> Reply:
        """The number keyed to be called on: confirmed back digit by digit, or refused with
        the reason (asked again once), or, with nothing keyed, back to waiting."""
        record = self.calls.get(params.CallSid)
        if record is None:
            return Reply((GoTo(Route.wait),))
        ctx = self._context(params, record)
        keyed = params.Digits.rstrip(listening.END_OF_NUMBER)
        if not keyed or keyed == listening.PERSON_KEY:
            return self._not_booked(ctx, record)
        found = check(keyed, ctx.queue.callbacks.countries)
        if isinstance(found, CallbackNumber):
            self.calls.save(record.model_copy(update={"callback_number": found.e164}))
            return self._confirm(ctx, found)
        tries = record.callback_number_tries + 1
        self.calls.save(record.model_copy(update={"callback_number_tries": tries}))
        log.info("call %s keyed a number that cannot be called back: %s", params.CallSid, found)
        refusal = self._refusal(ctx, found)
        if tries >= MAX_NUMBER_TRIES:
            return self._not_booked(ctx, record, refusal)
        return ctx.reply(self._ask_for_number(ctx, refusal))

    def _not_booked(self, ctx: CallContext, record: CallRecord, *before: Say) -> Reply:
        """No callback: back to holding, or, closed, goodbye."""
        if record.callback_at_opening is not None:
            return ctx.reply(*before, ctx.say(ctx.lang.prompts.goodbye), HangUp())
        if before:
            return ctx.reply(*before, ctx.say(ctx.lang.prompts.callback_not_now), GoTo(Route.wait))
        return ctx.reply(GoTo(Route.wait))

    def _book_at_opening(
        self, ctx: CallContext, record: CallRecord, number: str, opening: float
    ) -> Reply:
        booked = self.queue_service.book_at_opening(
            ctx.queue, record.call_sid, record.caller or None, number, ctx.language, opening
        )
        if not booked:
            log.info("call %s: that number already has a callback pending", record.call_sid)
            return self._not_booked(ctx, record, ctx.say(ctx.lang.prompts.callback_not_now))
        self._note(record, number)
        log.info("call %s will be called back after opening", record.call_sid)
        prompts = ctx.lang.prompts
        return ctx.reply(
            ctx.say(prompts.callback_booked_at_opening), ctx.say(prompts.goodbye), HangUp()
        )

    def _note(self, record: CallRecord, number: str) -> None:
        self.calls.add_to_transcript(
            record.call_sid,
            TranscriptEntry(
                at=self.clock(),
                speaker="caller",
                text=f"[asked to be called back on the number ending {number[-2:]}]",
                input="dtmf",
            ),
        )

    def _book(self, ctx: CallContext, record: CallRecord, number: str) -> Reply:
        if record.callback_at_opening is not None:
            return self._book_at_opening(ctx, record, number, record.callback_at_opening)
        outcome, ahead = self.queue_service.request_callback(ctx.queue, record.call_sid, number)
        if outcome is not CallbackRequest.requested:
            log.info("call %s cannot have a callback now: %s", record.call_sid, outcome)
            return ctx.reply(ctx.say(ctx.lang.prompts.callback_not_now), GoTo(Route.wait))
        self._note(record, number)
        log.info("call %s will be called back in its turn (%s ahead)", record.call_sid, ahead)
        wait = estimate_for(
            self.queue_service.snapshot(ctx.queue),
            ctx.queue,
            ahead or 0,
            ctx.language,
            self.config.timezone,
        )
        return ctx.reply(
            ctx.say(ctx.lang.prompts.callback_booked),
            speech.wait_sentence(ctx.lang, ctx.language, wait),
            ctx.say(ctx.lang.prompts.goodbye),
            HangUp(),
        )

    def _confirm(self, ctx: CallContext, number: CallbackNumber, *before: Say) -> Reply:
        check_sentence = ctx.say(
            ctx.lang.prompts.callback_number_check, digits=speech.Digits(number.last_digits)
        )
        return ctx.reply(
            Listen(Route.callback_choice, (*before, check_sentence), timeout=6, num_digits=1),
            GoTo(Route.wait),
        )

    def _ask_for_number(self, ctx: CallContext, *before: Say) -> Listen:
        return Listen(
            Route.callback_number,
            (*before, ctx.say(ctx.lang.prompts.callback_enter_number)),
            timeout=10,
            num_digits=MAX_NUMBER_DIGITS,
            finish_on_key=listening.END_OF_NUMBER,
            report_silence=True,
        )

    def _refusal(self, ctx: CallContext, problem: NumberProblem) -> Say:
        prompts = ctx.lang.prompts
        line = {
            NumberProblem.withheld: prompts.callback_no_caller_id,
            NumberProblem.invalid: prompts.callback_number_invalid,
            NumberProblem.premium: prompts.callback_number_premium,
            NumberProblem.abroad: prompts.callback_number_abroad,
        }[problem]
        return ctx.say(line)

    def _context(self, params: VoiceRequest, record: CallRecord) -> CallContext:
        return for_called_number(self.config, params.our_number, record.language)
