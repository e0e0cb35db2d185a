"""Putting a caller through to the agent a worker chose (see `app.dispatch`): the TwiML the
caller's call is moved to, the whisper the agent hears on answering, and what happens when
the agent does not answer. Twilio-facing URLs are the project's choice; the agent's id in
them is covered by Twilio's signature, so it cannot be changed by a caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, VoiceResponse

from app import speech
from app.agents import Agent, AgentDirectory
from app.call_flow import WAIT_URL, CallContext, call_context, one_verb_document, say
from app.calls import CallStore
from app.job_queue import JobQueue
from app.queue_service import CallState, QueueService
from app.settings import OperatorConfig
from app.twilio_webhook import AgentLegRequest, DialCallStatus, DialResult, VoiceRequest
from app.wait_accuracy import WaitAccuracy

log = logging.getLogger(__name__)

WHISPER_URL = "/voice/whisper"
DIAL_RESULT_URL = "/voice/dial-result"


def _with_agent(path: str, agent_id: str) -> str:
    return f"{path}?{urlencode({'agent': agent_id})}"


class HandoffFlow:
    def __init__(
        self,
        config: OperatorConfig,
        queue_service: QueueService,
        calls: CallStore,
        agents: AgentDirectory,
        jobs: JobQueue,
        accuracy: WaitAccuracy,
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._queue = queue_service
        self._calls = calls
        self._agents = agents
        self._jobs = jobs
        self._accuracy = accuracy
        self._clock = clock

    def connect(self, params: VoiceRequest, agent_id: str) -> str:
        """The caller's call, moved here by the worker: ring the agent, who hears the whisper
        on answering. Anything but "offered to this agent" goes back to waiting."""
        ctx = self._context(params)
        queue = ctx.queue
        position = self._queue.position(queue, params.CallSid)
        agent = self._agents.get(agent_id)
        if (
            agent is None
            or position.state is not CallState.offered
            or (position.agent_id != agent_id)
        ):
            log.warning(
                "connect for call %s to %s, but it is %s (agent %s): back to waiting",
                params.CallSid,
                agent_id,
                position.state,
                position.agent_id,
            )
            return one_verb_document(VoiceResponse.redirect, WAIT_URL)
        response = VoiceResponse()
        say(response, ctx, ctx.lang.prompts.connecting_to_agent)
        # answerOnBridge: the caller hears ringing, not silence, until the agent has heard
        # the whisper and is put through.
        dial = Dial(
            action=_with_agent(DIAL_RESULT_URL, agent_id),
            method="POST",
            timeout=queue.agent_ring_seconds,
            answer_on_bridge=True,
        )
        _ring(dial, agent, _with_agent(WHISPER_URL, agent_id))
        response.append(dial)
        return str(response)

    def whisper(self, params: AgentLegRequest, agent_id: str) -> str:
        """The agent answered: settle the offer (the caller leaves the line) and tell the
        agent who is calling and why, before the caller is put through."""
        agent = self._agents.get(agent_id)
        caller_sid = params.ParentCallSid
        record = self._calls.get(caller_sid)
        if agent is None or record is None:
            log.warning("whisper for unknown call %s or agent %s", caller_sid, agent_id)
            return one_verb_document(VoiceResponse.hangup)
        # The agent's leg did not dial the queue's number: the caller's record says which
        # queue and language.
        queue = self._config.queue_named(record.queue)
        ctx = call_context(self._config, queue, record.language)
        response = VoiceResponse()
        waited = self._queue.connect(queue, caller_sid, agent_id)
        if waited is None:
            # The caller hung up, or the offer lapsed and went to someone else.
            say(response, ctx, ctx.lang.prompts.whisper_caller_gone)
            response.hangup()
            return str(response)
        now = self._clock()
        self._calls.note_answered(caller_sid, agent_id, waited)
        if record.first_announced_wait is not None:
            self._accuracy.record(queue.name, record.first_announced_wait, waited, now)
        log.info("call %s answered by %s after %.0f s", caller_sid, agent_id, waited)
        sentences = speech.whisper_sentences(
            ctx.lang,
            ctx.language,
            verified_name=record.customer_name if record.verification == "verified" else None,
            reason=record.reason,
            waited_seconds=waited,
        )
        for sentence in sentences:
            say(response, ctx, sentence)
        return str(response)

    def dial_result(self, params: DialResult, agent_id: str) -> str:
        """The attempt to reach the agent is over. If they talked, the call is done; if the
        agent never answered, the caller goes back to the front and hears they are next."""
        ctx = self._context(params)
        queue = ctx.queue
        response = VoiceResponse()
        position = self._queue.position(queue, params.CallSid)
        if position.state is CallState.serving:
            say(response, ctx, ctx.lang.prompts.call_with_agent_ended)
            response.hangup()
            return str(response)
        # "canceled": the caller hung up while it rang, which is not the agent's doing.
        ahead = self._queue.requeue_front(
            queue,
            params.CallSid,
            agent_id,
            agent_available=params.DialCallStatus is DialCallStatus.canceled,
        )
        if ahead is not None:
            log.info(
                "agent %s did not take call %s (%s): back at the front",
                agent_id,
                params.CallSid,
                params.DialCallStatus,
            )
            say(response, ctx, ctx.lang.prompts.agent_did_not_answer)
            self._jobs.dispatch_soon(queue.name)
        response.redirect(WAIT_URL)
        return str(response)

    def _context(self, params: VoiceRequest) -> CallContext:
        """The caller's leg: its queue from the dialled number, in the call's language."""
        record = self._calls.get(params.CallSid)
        queue = self._config.queue_for_number(params.To)
        return call_context(self._config, queue, record.language if record else None)


def _ring(dial: Dial, agent: Agent, whisper_url: str) -> None:
    reach = agent.reach
    if reach.client:
        dial.client(reach.client, url=whisper_url, method="POST")
    elif reach.phone:
        dial.number(reach.phone, url=whisper_url, method="POST")
    else:
        dial.sip(reach.sip, url=whisper_url, method="POST")
