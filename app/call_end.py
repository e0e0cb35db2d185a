"""A call is over (its status callback, or Twilio says so when the sweep asks): its place and
agent are settled and it is written into the customer's contact history."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import metrics
from app.callback_number import CallbackNumber, check
from app.calls import CallRecord, CallStore
from app.centre_figures import CentreFigures
from app.clock import Clock
from app.history import CallSummary, ContactHistory, Outcome, summary_of
from app.queue_service import CallbackRequest, EndOutcome, QueueService
from app.settings import OperatorConfig, QueueSettings
from app.twilio_webhook import VoiceRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallEnd:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    history: ContactHistory
    figures: CentreFigures
    clock: Clock

    def status_changed(self, params: VoiceRequest) -> EndOutcome | None:
        """Call status changed. Only an end matters (None otherwise): an unserved caller
        keeps their place for the grace period. Unknown and repeated callbacks change
        nothing."""
        if not params.CallStatus.ended:
            return None
        queue = self.config.queue_for_number(params.our_number)
        outcome = self.end(queue, params.CallSid)
        log.info("call %s ended (%s): %s", params.CallSid, params.CallStatus, outcome)
        return outcome

    def end(self, queue: QueueSettings, call_sid: str) -> EndOutcome:
        """Settle the call's place and agent, and write it into the contact history."""
        self._callback_when_dropped(queue, call_sid)
        outcome = self.queue_service.end_call(queue, call_sid)
        metrics.CALL_ENDS.labels(queue.name, outcome.value).inc()
        self.calls.forget_seen(call_sid)
        self._remember(queue, call_sid, outcome)
        return outcome

    def _callback_when_dropped(self, queue: QueueSettings, call_sid: str) -> None:
        """Where the operator asks for it, a verified caller who drops while waiting is
        called back in their turn on the number they called from (their identity is
        known, so the callback reaches the right person)."""
        if not (queue.callbacks.enabled and queue.callbacks.offer_when_dropped):
            return
        record = self.calls.get(call_sid)
        if record is None or record.verification != "verified" or record.callback_of:
            return
        number = check(record.caller, queue.callbacks.countries)
        if not isinstance(number, CallbackNumber):
            return
        outcome, _ = self.queue_service.request_callback(queue, call_sid, number.e164)
        if outcome is CallbackRequest.requested:
            log.info("call %s dropped while waiting: it will be called back", call_sid)

    def _remember(self, queue: QueueSettings, call_sid: str, outcome: EndOutcome) -> None:
        """Write the call into the contact history (once: a repeated callback finds the
        contact already written)."""
        record = self.calls.get(call_sid)
        if record is None:
            return  # never queued (closed hours, or not a call of ours)
        if outcome is EndOutcome.unknown and self.history.contact(call_sid) is not None:
            return
        handoff = self.calls.handoff(call_sid)
        if outcome is EndOutcome.finished or handoff.answered_by:
            result = Outcome.answered
        elif outcome is EndOutcome.callback:
            result = Outcome.callback_requested
        elif record.left_queue_at is not None:
            result = Outcome.left
        else:
            result = Outcome.dropped
        self.remember(queue, record, summary_of(record, handoff, result, self.clock()))

    def remember(self, queue: QueueSettings, record: CallRecord, summary: CallSummary) -> None:
        """An ended call, into the contact history and today's figures."""
        self.history.record_call(summary)
        self.figures.record(queue, record, summary)
