"""Calls whose end was never reported. Twilio retries status callbacks, but one can still be
lost (the app down for longer than the retries): the call would keep its place, counted
ahead of everyone behind it, until dispatch reached it. The worker's periodic sweep asks
Twilio about calls that have gone quiet and ends those that are over."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.call_end import CallEnd
from app.calls import CallStore
from app.clock import Clock
from app.settings import OperatorConfig
from app.telephony import LIVE_STATUSES, Telephony, TelephonyRejected

log = logging.getLogger(__name__)

# Callers in the wait loop are heard from every hold-music round; a call with an agent is not
# heard from at all, so it is asked about this often (one REST request per call).
QUIET_AFTER_SECONDS = 5 * 60


@dataclass(frozen=True)
class StaleCallSweeper:
    config: OperatorConfig
    calls: CallStore
    call_end: CallEnd
    telephony: Telephony
    clock: Clock

    def sweep(self) -> int:
        """Ask Twilio about quiet calls; end the ones that are over. Returns how many."""
        now = self.clock()
        ended = 0
        for call_sid in self.calls.quiet_since(now - QUIET_AFTER_SECONDS):
            try:
                status = self.telephony.call_status(call_sid)
            except TelephonyRejected as refused:
                # Counted and logged by Telephony. Bad credentials fail every call alike;
                # anything else is about this call only.
                if refused.fault.credentials:
                    break
                continue
            if status in LIVE_STATUSES:
                self.calls.seen(call_sid, now)
                continue
            record = self.calls.get(call_sid)
            if record is None:
                self.calls.forget_seen(call_sid)
                continue
            outcome = self.call_end.end(self.config.queue_named(record.queue), call_sid)
            log.warning(
                "call %s ended without a status callback (Twilio: %s): %s",
                call_sid,
                status,
                outcome,
            )
            ended += 1
        return ended
