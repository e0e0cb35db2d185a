"""Putting a caller through to the agent a worker chose (see `app.dispatch`): the call,
moved here by the worker, rings the agent; the agent hears the whisper on answering; and an
agent who does not answer sends the caller back to the front.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import speech
from app.agents import AgentDirectory
from app.call_context import CallContext, call_context, for_called_number, language_name
from app.calls import CallStore
from app.clock import Clock
from app.job_queue import JobQueue
from app.queue_service import CallState, QueueService
from app.settings import OperatorConfig
from app.twilio_webhook import AgentLegRequest, DialCallStatus, DialResult, VoiceRequest
from app.voice_reply import GoTo, HangUp, Reply, RingAgent, Route
from app.wait_accuracy import WaitAccuracy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentHandoff:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    agents: AgentDirectory
    jobs: JobQueue
    accuracy: WaitAccuracy
    clock: Clock

    def connect(self, params: VoiceRequest, agent_id: str) -> Reply:
        """The caller's call, moved here by the worker: ring the agent, who hears the whisper
        on answering. Anything but "offered to this agent" goes back to waiting."""
        ctx = self._context(params)
        position = self.queue_service.position(ctx.queue, params.CallSid)
        agent = self.agents.get(agent_id)
        if (
            agent is None
            or position.state is not CallState.offered
            or position.agent_id != agent_id
        ):
            log.warning(
                "connect for call %s to %s, but it is %s (agent %s): back to waiting",
                params.CallSid,
                agent_id,
                position.state,
                position.agent_id,
            )
            return Reply((GoTo(Route.wait),))
        # The call itself says it was moved, should the worker that moved it have died.
        self.queue_service.offer_delivered(ctx.queue, params.CallSid, agent_id)
        return ctx.reply(
            ctx.say(ctx.lang.prompts.connecting_to_agent),
            RingAgent(agent_id, agent.reach, ctx.queue.agent_ring_seconds),
        )

    def whisper(self, params: AgentLegRequest, agent_id: str) -> Reply:
        """The agent answered: settle the offer (the caller leaves the line) and tell the
        agent who is calling, why, and (on a number with several languages) in which
        language, before the caller is put through. The whisper is in the agent's own
        (first) language, whatever the caller's."""
        agent = self.agents.get(agent_id)
        caller_sid = params.ParentCallSid
        record = self.calls.get(caller_sid)
        if agent is None or record is None:
            log.warning("whisper for unknown call %s or agent %s", caller_sid, agent_id)
            return Reply((HangUp(),))
        # The agent's leg did not dial the queue's number: the caller's record says which
        # queue, and the agent which language they hear it in.
        queue = self.config.queue_named(record.queue)
        ctx = call_context(self.config, queue, agent.whisper_language)
        waited = self.queue_service.connect(queue, caller_sid, agent_id)
        if waited is None:
            # The caller hung up, or the offer lapsed and went to someone else.
            return ctx.reply(ctx.say(ctx.lang.prompts.whisper_caller_gone), HangUp())
        self.calls.note_answered(caller_sid, agent_id, waited)
        if record.first_announced_wait is not None:
            self.accuracy.record(queue.name, record.first_announced_wait, waited, self.clock())
        log.info("call %s answered by %s after %.0f s", caller_sid, agent_id, waited)
        sentences = speech.whisper_sentences(
            ctx.lang,
            ctx.language,
            verified_name=record.customer_name if record.verification == "verified" else None,
            reason=record.reason,
            waited_seconds=waited,
            callback=bool(record.callback_of),
        )
        spoken_in = ctx.lang.prompts.whisper_language
        if queue.multilingual and spoken_in is not None:
            named = language_name(self.config, record.language, ctx.language)
            sentences.append(ctx.say(spoken_in, language=named))
        return ctx.reply(*sentences)

    def dial_result(self, params: DialResult, agent_id: str) -> Reply:
        """The attempt to reach the agent is over. If they talked, the call is done; if the
        agent never answered, the caller goes back to the front and hears they are next."""
        ctx = self._context(params)
        position = self.queue_service.position(ctx.queue, params.CallSid)
        if position.state is CallState.offered and _talked(params):
            # The agent answered and talked, but the whisper that settles the offer did not
            # run (the queue store was down then): settle it now, as served.
            waited = self.queue_service.connect(ctx.queue, params.CallSid, agent_id)
            if waited is not None:
                self.calls.note_answered(params.CallSid, agent_id, waited)
                position = self.queue_service.position(ctx.queue, params.CallSid)
        if position.state is CallState.serving:
            return ctx.reply(ctx.say(ctx.lang.prompts.call_with_agent_ended), HangUp())
        # "canceled": the caller hung up while it rang, which is not the agent's doing.
        ahead = self.queue_service.requeue_front(
            ctx.queue,
            params.CallSid,
            agent_id,
            agent_available=params.DialCallStatus is DialCallStatus.canceled,
        )
        if ahead is None:
            return ctx.reply(GoTo(Route.wait))
        log.info(
            "agent %s did not take call %s (%s): back at the front",
            agent_id,
            params.CallSid,
            params.DialCallStatus,
        )
        self.jobs.dispatch_soon(ctx.queue.name)
        return ctx.reply(ctx.say(ctx.lang.prompts.agent_did_not_answer), GoTo(Route.wait))

    def _context(self, params: VoiceRequest) -> CallContext:
        """The caller's leg: its queue from the dialled number, in the call's language."""
        record = self.calls.get(params.CallSid)
        return for_called_number(
            self.config, params.our_number, record.language if record else None
        )


def _talked(params: DialResult) -> bool:
    """The dialled agent answered and the two were connected for a while."""
    return params.DialCallStatus is DialCallStatus.completed and (params.DialCallDuration or 0) > 0
