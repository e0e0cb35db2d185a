"""Calling a caller back in their turn: the worker places the outbound call with answering-
machine detection for the agent it reserved; a person answering hears who is calling and
why and is put through like any caller (whisper "callback", the context on the agent's
screen); a machine, a busy line, no answer or a failure frees the agent at once and the try
is repeated by the operator's policy (queues.yml `callbacks`), the last one going into the
contact history. Every webhook of the outbound call names its queue, ticket, offer and agent
in its signed URL, so duplicated, late or out-of-order ones change nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from app import twiml
from app.call_context import call_context
from app.call_end import CallEnd
from app.calls import CallRecord, CallStore
from app.clock import Clock
from app.handoff import AgentHandoff
from app.history import ContactHistory, Outcome, summary_of
from app.job_queue import JobQueue
from app.queue_service import CallbackAttempt, CallbackTry, CallState, Offer, QueueService
from app.redis_text import text
from app.settings import OperatorConfig, QueueSettings
from app.telephony import OutboundCall, Telephony, TelephonyRejected, TelephonyUnavailable
from app.twilio_webhook import CallbackAnswer, CallStatus, GatherResult, VoiceRequest
from app.voice_reply import GoTo, HangUp, Listen, Reply, Route

log = logging.getLogger(__name__)

# What answered, as Twilio's answering-machine detection says (AnsweredBy); "unknown" is put
# through: a person who said nothing is better served than hung up on.
_MACHINES = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "fax"})
# Pressed on the callback: "I no longer need this call".
CANCEL_KEY = "9"
# The outbound call ended without anyone to talk to.
_MISSED = {
    CallStatus.busy: "busy",
    CallStatus.no_answer: "no-answer",
    CallStatus.failed: "failed",
    CallStatus.canceled: "canceled",
}


def _outcomes_key(queue: QueueSettings) -> str:
    return f"callbacks:{queue.name}:outcomes"


@dataclass(frozen=True)
class CallbackOutcomes:
    """How callback tries ended, per queue, for the operator's page."""

    client: redis.Redis

    def count(self, queue: QueueSettings, outcome: str) -> None:
        self.client.hincrby(_outcomes_key(queue), outcome, 1)

    def counts(self, queue: QueueSettings) -> dict[str, int]:
        raw = self.client.hgetall(_outcomes_key(queue))
        return {text(k): int(v) for k, v in raw.items()}


@dataclass(frozen=True)
class CallbackCalls:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    history: ContactHistory
    handoff: AgentHandoff
    call_end: CallEnd
    telephony: Telephony
    jobs: JobQueue
    outcomes: CallbackOutcomes
    public_base_url: str
    clock: Clock

    def place(self, queue: QueueSettings, offer: Offer) -> bool:
        """Place the callback `offer` reserved an agent for. True when its call is placed.
        Twilio refusing the number counts as a missed try (the agent is free at once);
        Twilio unreachable is no try at all (the callback is back at the front, and
        TelephonyUnavailable propagates for the job's retry)."""
        attempt = offer.attempt
        call = OutboundCall(
            to=offer.callback_number,
            from_=queue.numbers[0],
            url=twiml.callback_url(
                self.public_base_url, Route.callback_answer, queue.name, attempt
            ),
            status_callback=twiml.callback_url(
                self.public_base_url, Route.callback_status, queue.name, attempt
            ),
            ring_seconds=queue.callbacks.ring_seconds,
        )
        try:
            sid = self.telephony.place_call(call)
        except TelephonyUnavailable:
            self.queue_service.callback_failed(queue, attempt, "", counts=False)
            raise
        except TelephonyRejected as refused:
            if refused.fault.credentials:
                # The account's fault, not the number's: no try spent, the place kept, and
                # the run stops (every request would be refused alike).
                self.queue_service.callback_failed(queue, attempt, "", counts=False)
                raise
            self._missed(queue, attempt, "", f"refused {refused.fault.code}")
            return False
        if not self.adopt(queue, attempt, sid):
            if self.calls.get(sid) is None:
                # Never taken up (the offer lapsed first): nobody must answer it.
                log.warning("callback call %s placed after its offer lapsed: hanging up", sid)
                self.telephony.hang_up(sid)
            # Otherwise its own webhooks already carried the try through (answered and
            # cancelled, or missed) before the worker got here: the call is theirs.
            return False
        log.info("callback for ticket %s placed (%s) for %s", offer.ticket, sid, offer.agent_id)
        self.outcomes.count(queue, "placed")
        return True

    def adopt(self, queue: QueueSettings, attempt: CallbackAttempt, call_sid: str) -> bool:
        """The outbound call now stands for the ticket, with the asking call's context.
        Idempotent: the worker and the call's first webhook may both get here, either
        first."""
        origin = self.queue_service.callback_placed(queue, attempt, call_sid)
        if origin is None:
            return False
        if self.calls.for_callback(origin, call_sid, self.clock()) is None:
            # The asking call's record expired (a day): the callback still goes through,
            # with what the queue knows, rather than be hung up on as an unknown call.
            log.warning("callback %s: the record of the asking call %s expired", call_sid, origin)
            self.calls.save(
                CallRecord(
                    call_sid=call_sid,
                    queue=queue.name,
                    language=queue.default_language,
                    started_at=self.clock(),
                    callback_of=origin or call_sid,
                )
            )
        self.calls.note_offer(call_sid, attempt.agent_id, self.clock())
        return True

    def answered(
        self, params: CallbackAnswer, queue: QueueSettings, attempt: CallbackAttempt
    ) -> Reply:
        """The callback's call was answered: a machine is hung up on (a missed try); a
        person hears who is calling, then rings the agent as any caller does."""
        # This request can overtake the worker's own report of the call: adopt it first.
        adopted = self.adopt(queue, attempt, params.CallSid)
        record = self.calls.get(params.CallSid)
        ctx = call_context(self.config, queue, record.language if record else None)
        if not adopted:
            log.warning("callback %s answered, but its offer is over: hanging up", params.CallSid)
            return ctx.reply(HangUp())
        if params.AnsweredBy in _MACHINES:
            self._missed(queue, attempt, params.CallSid, "machine")
            return ctx.reply(HangUp())
        self.outcomes.count(queue, "reached")
        prompts = ctx.lang.prompts
        intro = ctx.say(prompts.callback_intro, company=self.config.operator.company)
        cancel = ctx.say(prompts.callback_cancel_option, key=int(CANCEL_KEY))
        # A short chance to say it is no longer needed; silence rings the agent.
        listen = Listen(Route.callback_cancel, (intro, cancel), timeout=3, num_digits=1)
        ring = self.handoff.connect(params, attempt.agent_id)
        return ctx.reply(listen, *ring.steps)

    def cancel(self, params: GatherResult) -> Reply:
        """A key on the callback: the cancel key gives the place up (the reserved agent
        is free at once); any other goes on to the agent."""
        record = self.calls.get(params.CallSid)
        if record is None:
            return Reply((HangUp(),))
        queue = self.config.queue_named(record.queue)
        ctx = call_context(self.config, queue, record.language)
        if params.Digits != CANCEL_KEY:
            position = self.queue_service.position(queue, params.CallSid)
            if position.agent_id is None:
                return ctx.reply(GoTo(Route.wait))
            return self.handoff.connect(params, position.agent_id)
        self.calls.save(record.model_copy(update={"left_queue_at": self.clock()}))
        left = self.queue_service.leave(queue, params.CallSid)
        log.info("callback %s cancelled by the caller (had a place: %s)", params.CallSid, left)
        self.outcomes.count(queue, "cancelled")
        # Into the contact history now: the call's end finds nothing of it in the queue.
        self.call_end.end(queue, params.CallSid)
        self.jobs.dispatch_soon(queue.name)
        return ctx.reply(ctx.say(ctx.lang.prompts.callback_cancelled), HangUp())

    def status_changed(
        self, params: VoiceRequest, queue: QueueSettings, attempt: CallbackAttempt
    ) -> None:
        """The outbound call's progress. Busy, no answer, failed or canceled is a missed
        try; the end of a call that reached a person ends it like any call."""
        missed = _MISSED.get(params.CallStatus)
        if missed is not None:
            # It may overtake the worker's report of the call too.
            self.adopt(queue, attempt, params.CallSid)
            self._missed(queue, attempt, params.CallSid, missed)
            return
        if params.CallStatus is not CallStatus.completed:
            return
        if self.queue_service.position(queue, params.CallSid).state is CallState.unknown:
            return  # a missed try, already counted (a machine), or a repeated report
        self.call_end.end(queue, params.CallSid)

    def _missed(
        self, queue: QueueSettings, attempt: CallbackAttempt, call_sid: str, why: str
    ) -> None:
        outcome, tries = self.queue_service.callback_failed(queue, attempt, call_sid)
        if outcome is CallbackTry.stale:
            return
        self.outcomes.count(queue, why)
        log.info(
            "callback try %d for ticket %s missed (%s): %s", tries, attempt.ticket, why, outcome
        )
        if outcome is CallbackTry.given_up:
            self.outcomes.count(queue, "given_up")
            self._remember_given_up(queue, call_sid)
        # The agent is free again: offer them the next caller.
        self.jobs.dispatch_soon(queue.name)

    def _remember_given_up(self, queue: QueueSettings, call_sid: str) -> None:
        record = self.calls.get(call_sid) if call_sid else None
        if record is None:
            return
        handoff = self.calls.handoff(call_sid)
        summary = summary_of(record, handoff, Outcome.callback_not_reached, self.clock())
        self.call_end.remember(queue, record, summary)
