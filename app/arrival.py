"""A call arrives (or Twilio retries the request): its place is taken, restored or kept, its
record started, and the caller greeted with the guaranteed place, the people ahead, the
wait and the way to a person. Closed hours: new callers hear the hours and are not queued.

On a number with several languages the place is taken first (the first second counts), in
the language the caller's number chose last time if there is one; otherwise the caller is
still to choose and hears the language menu (`app.language_choice`), then the greeting."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from app import business_hours, language_menu, listening, metrics, speech
from app.call_context import CallContext, call_context, for_called_number
from app.calls import CallRecord, CallStore
from app.clock import Clock
from app.history import ContactHistory
from app.job_queue import JobQueue
from app.queue_service import AgentState, QueueService, QueueSnapshot, Slot, SlotOutcome
from app.queue_wait_estimate import estimate_for
from app.settings import OperatorConfig
from app.twilio_webhook import VoiceRequest
from app.voice_reply import GoTo, HangUp, Listen, Pause, Reply, Route, Say
from app.wait_announcement import announce, announced
from app.wait_estimate import WaitEstimate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arrival:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    history: ContactHistory
    jobs: JobQueue
    clock: Clock

    def incoming(self, params: VoiceRequest) -> Reply:
        """Take or restore the caller's place and greet them (after the language menu, on a
        number with several languages and a caller whose choice is not remembered)."""
        ctx = for_called_number(self.config, params.our_number)
        now = self.clock()
        open_now = business_hours.is_open(self.config.operator, _utc(now))
        slot = self.queue_service.take_slot(
            ctx.queue,
            params.CallSid,
            params.caller_number,
            allow_new=open_now,
            language=self._remembered_language(ctx, params.caller_number),
        )
        match slot.outcome:
            case SlotOutcome.closed:
                log.info("call %s arrived while closed", params.CallSid)
                return self._closed(ctx, params, now)
            case SlotOutcome.ended:
                log.info("late request for ended call %s: no place taken", params.CallSid)
                return Reply((HangUp(),))
            case SlotOutcome.serving:
                # Already bridged to an agent: keep that call as it is (an empty document
                # would hang it up).
                return Reply((Pause(1),))
            case SlotOutcome.callback_calling:
                # We are ringing this number for its callback right now: no second place.
                log.info("call %s arrived while its callback is being made", params.CallSid)
                ctx = call_context(self.config, ctx.queue, slot.language)
                return ctx.reply(ctx.say(ctx.lang.prompts.callback_calling_now), HangUp())
        if slot.outcome is SlotOutcome.new:
            metrics.CALLS.labels(ctx.queue.name).inc()
        log.info(
            "call %s took ticket %s (%s), %s ahead",
            params.CallSid,
            slot.ticket,
            slot.outcome,
            slot.people_ahead,
        )
        # The record first: a restored caller's earlier context is in place before a worker
        # can put them through to an agent's screen.
        record = self._record(params, ctx, slot, now)
        if slot.language is None:
            # Still to choose: the place counts already; the greeting follows the choice.
            self.calls.save(record)
            self.calls.seen(record.call_sid, now)
            return language_menu.offer(self.config, ctx)
        arrived = slot.outcome in (
            SlotOutcome.new,
            SlotOutcome.restored,
            SlotOutcome.callback_restored,
        )
        return self.welcome(
            call_context(self.config, ctx.queue, slot.language),
            record,
            slot.people_ahead,
            put_through=arrived,
            callback_restored=slot.outcome is SlotOutcome.callback_restored,
        )

    def welcome(
        self,
        ctx: CallContext,
        record: CallRecord,
        people_ahead: int,
        *,
        put_through: bool,
        callback_restored: bool = False,
    ) -> Reply:
        """The greeting, in the call's language: on arrival, or once the language is chosen.
        With `put_through`, a free agent is asked for now (the caller has just become one
        a worker can put through)."""
        now = self.clock()
        snapshot = self.queue_service.snapshot(ctx.queue)
        wait = estimate_for(snapshot, ctx.queue, people_ahead, ctx.language, self.config.timezone)
        if put_through:
            self._put_through_if_someone_is_free(ctx, snapshot)
        record = self._announced(record, people_ahead, wait, now)
        greeting = tuple(self._greeting(ctx, people_ahead, wait, record, callback_restored))
        return ctx.reply(listening.at_greeting(greeting), GoTo(Route.wait))

    def _remembered_language(self, ctx: CallContext, caller: str | None) -> str | None:
        """The language this caller's number chose last time, if this queue serves it (a
        withheld number is asked every time)."""
        if not ctx.queue.multilingual or not caller:
            return None
        remembered = self.history.remembered_language(caller)
        return remembered if remembered in ctx.queue.languages else None

    def _record(self, params: VoiceRequest, ctx: CallContext, slot: Slot, now: float) -> CallRecord:
        """The call's record: as it is for a retried webhook; for a new call, carrying over
        what a dropped call from the same number had already told us."""
        record = self.calls.get(params.CallSid)
        if record is not None:
            return record
        record = CallRecord(
            call_sid=params.CallSid,
            queue=ctx.queue.name,
            # Still to choose: the default until then.
            language=slot.language or ctx.queue.default_language,
            caller=params.caller_number or "",
            started_at=now,
        )
        if slot.previous_call_sid:
            record = self.calls.carry_over(slot.previous_call_sid, record)
        return record

    def _put_through_if_someone_is_free(self, ctx: CallContext, snapshot: QueueSnapshot) -> None:
        # The caller hears the greeting while a worker puts them through (the REST redirect
        # interrupts whatever is playing).
        if AgentState.available in snapshot.agents.values():
            self.jobs.dispatch_soon(ctx.queue.name)

    def _announced(
        self, record: CallRecord, people_ahead: int, wait: WaitEstimate | None, now: float
    ) -> CallRecord:
        """Save what the caller is about to hear (the wait loop repeats it only when it
        changes; the first estimate is kept to measure its accuracy)."""
        update = announced(people_ahead, wait, now)
        if record.announced_at is None and not record.restored_from:
            update["first_announced_wait"] = announce(wait).seconds if wait else None
        record = record.model_copy(update=update)
        self.calls.save(record)
        self.calls.seen(record.call_sid, now)
        return record

    def _greeting(
        self,
        ctx: CallContext,
        people_ahead: int,
        wait: WaitEstimate | None,
        record: CallRecord,
        callback_restored: bool,
    ) -> list[Say]:
        prompts = ctx.lang.prompts
        sentences = [ctx.say(prompts.greeting, company=self.config.operator.company)]
        if callback_restored:
            sentences.append(ctx.say(prompts.callback_restored))
        elif record.restored_from:
            sentences.append(ctx.say(prompts.place_restored))
        sentences += [
            ctx.say(prompts.place_guaranteed),
            speech.people_ahead_sentence(ctx.lang, ctx.language, people_ahead),
            speech.wait_sentence(ctx.lang, ctx.language, wait),
        ]
        if not record.caller:
            sentences.append(ctx.say(prompts.withheld_number))
        if record.wants_agent:
            sentences.append(ctx.say(prompts.person_requested))
        else:
            sentences += [ctx.say(prompts.offer_help), ctx.say(prompts.how_to_reach_a_person)]
        return sentences

    def _closed(self, ctx: CallContext, params: VoiceRequest, now: float) -> Reply:
        """The hours and the next opening; where the queue allows callbacks, the caller may
        ask for one at opening (a record is kept for it, in the caller's remembered
        language or the queue's default)."""
        ctx = call_context(
            self.config, ctx.queue, self._remembered_language(ctx, params.caller_number)
        )
        prompts = ctx.lang.prompts
        operator = self.config.operator
        sentences = [
            ctx.say(prompts.closed, company=operator.company),
            ctx.say(prompts.opening_hours),
        ]
        local_now = _utc(now)
        opening = business_hours.next_opening(operator, local_now)
        if opening is not None:
            local = local_now.astimezone(opening.tzinfo)
            sentences.append(speech.next_opening_sentence(ctx.lang, local, opening))
        goodbye = (ctx.say(prompts.goodbye), HangUp())
        if opening is None or not ctx.queue.callbacks.enabled:
            return ctx.reply(*sentences, *goodbye)
        self.calls.save(
            CallRecord(
                call_sid=params.CallSid,
                queue=ctx.queue.name,
                language=ctx.language,
                caller=params.caller_number or "",
                started_at=now,
                callback_at_opening=opening.timestamp(),
            )
        )
        key = int(listening.CALLBACK_KEY)
        offer = ctx.say(prompts.callback_at_opening_option, key=key)
        listen = Listen(Route.callback_offer, (*sentences, offer), timeout=5, num_digits=1)
        return ctx.reply(listen, *goodbye)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
