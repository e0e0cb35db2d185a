"""Putting waiting callers through to agents. Run by the worker (an RQ job) whenever a caller
may have become ready or an agent available; safe to run in any number of workers at once,
because pairing a caller with an agent is one atomic queue script."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import metrics, twiml
from app.agents import AgentDirectory
from app.callback_calls import CallbackCalls
from app.calls import CallStore
from app.clock import Clock
from app.queue_service import Offer, QueueService
from app.settings import QueueSettings
from app.telephony import Telephony, TelephonyRejected
from app.voice_reply import Route

log = logging.getLogger(__name__)

# The caller is leased to the agent for the ring time plus this: the whisper, Twilio's
# requests and a slow REST answer. A lease that lapses puts the caller back at the front.
LEASE_ALLOWANCE_SECONDS = 30
# Twilio's answering-machine detection listens up to this long (its MachineDetectionTimeout
# default) before a callback's call asks what to do.
MACHINE_DETECTION_SECONDS = 30


@dataclass(frozen=True)
class Dispatcher:
    queue_service: QueueService
    calls: CallStore
    agents: AgentDirectory
    telephony: Telephony
    callbacks: CallbackCalls
    public_base_url: str
    clock: Clock

    def dispatch(self, queue: QueueSettings) -> list[Offer]:
        """Offer waiting callers to available agents until one side runs out. Returns the
        offers whose calls were moved to their agent. A Twilio outage stops the run with
        the caller back at the front (`TelephonyUnavailable` propagates, for a retry); so
        does Twilio refusing the request for good (bad credentials, say), but without a
        retry: the next event or the periodic sweep tries again, and the fault is on the
        operator's page and, for credentials, on /healthz."""
        lease = queue.agent_ring_seconds + LEASE_ALLOWANCE_SECONDS
        # A callback rings the caller (and waits out the machine detection) before the agent.
        callback_lease = lease + queue.callbacks.ring_seconds + MACHINE_DETECTION_SECONDS
        moved: list[Offer] = []
        while (offer := self.queue_service.dispatch(queue, lease, callback_lease)) is not None:
            try:
                if self._put_through(queue, offer):
                    moved.append(offer)
                    metrics.DISPATCHES.labels(queue.name, "put_through").inc()
                else:
                    metrics.DISPATCHES.labels(queue.name, "not_put_through").inc()
            except TelephonyRejected:
                metrics.DISPATCHES.labels(queue.name, "twilio_refused").inc()
                break
        return moved

    def _put_through(self, queue: QueueSettings, offer: Offer) -> bool:
        if offer.is_callback:
            return self.callbacks.place(queue, offer)
        if self.agents.get(offer.agent_id) is None:
            # Signed in, then removed from the agents file: never ring them again.
            log.warning("agent %s is no longer in the agents file", offer.agent_id)
            self.queue_service.requeue_front(queue, offer.call_sid, offer.agent_id)
            return False
        # Recorded before the call moves, so the agent's screen can show the caller while
        # their phone rings.
        self.calls.note_offer(offer.call_sid, offer.agent_id, self.clock())
        try:
            connect = twiml.url(self.public_base_url, Route.connect, agent_id=offer.agent_id)
            live = self.telephony.redirect(offer.call_sid, connect)
        except Exception:
            # Not the agent's doing: both go back as they were, and the job is retried.
            self.queue_service.requeue_front(
                queue, offer.call_sid, offer.agent_id, agent_available=True
            )
            raise
        if live:
            self.queue_service.offer_delivered(queue, offer.call_sid, offer.agent_id)
        else:
            # Twilio says the call is over: treat it as ended now (its place is held for the
            # grace period, and the agent is free) rather than wait for its status callback.
            log.info("call %s ended before it could be put through", offer.call_sid)
            self.queue_service.end_call(queue, offer.call_sid)
            return False
        log.info(
            "call %s (ticket %s) offered to agent %s",
            offer.call_sid,
            offer.ticket,
            offer.agent_id,
        )
        return True
