"""What an agent does at the console: become available or away, see the caller they are
being put through to (the screen pop), and wrap the call up. An agent sees only calls that
were offered to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.agents import Agent, AgentDirectory
from app.call_context import language_name
from app.calls import CallRecord, CallStore, Handoff, TranscriptEntry
from app.clock import Clock
from app.history import NOTES_MAX_CHARS, Contact, ContactHistory, Outcome, WrapUp, summary_of
from app.job_queue import JobQueue
from app.queue_service import AgentState, AgentStatus, QueueService
from app.settings import OperatorConfig

# Dialogue slots worth showing the agent, with their labels (never a secret: the dialogue
# never holds one).
DETAIL_SLOTS = {
    "account_number": "Account number given",
    "outage_status": "Outage check",
    "appointment_id": "Appointment",
    "appointment_new_date": "Appointment moved to",
    "resolved": "Resolved by the assistant",
}
# What a slot's value means, in the agent's words rather than the dialogue's codes.
DETAIL_WORDS: dict[str, dict[object, str]] = {
    "outage_status": {
        "known_outage": "Known outage in the caller's area",
        "no_known_outage": "No known outage in the caller's area",
    },
    "resolved": {True: "yes", False: "no"},
}


def detail_words(slot: str, value: object) -> str:
    """A slot's value as the console shows it: its words, else the value itself."""
    words = DETAIL_WORDS.get(slot, {})
    if isinstance(value, bool | str) and value in words:
        return words[value]
    return str(value)


class NotYourCall(Exception):
    """The call was never offered to this agent (or does not exist)."""


class WrapUpRefused(ValueError):
    """The wrap-up cannot be saved as given; the message says why, for the agent."""


@dataclass(frozen=True)
class ScreenPop:
    call_sid: str
    caller: str
    language: str  # the code the caller chose (or the queue's only one): their words' script
    language_name: str  # as the agent's own language names it
    customer_name: str | None  # only once verified
    verification: str | None
    verification_method: str | None
    reason: str | None
    reason_name: str | None  # the operator's name for it, in the agent's language
    reason_source: str | None
    summary: str | None
    details: dict[str, Any]
    transcript: list[TranscriptEntry]  # already redacted when it was written
    started_at: float
    waited_seconds: float | None
    answered: bool
    earlier: list[Contact]
    wrap_up: WrapUp | None


@dataclass(frozen=True)
class AgentDesk:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    agents: AgentDirectory
    history: ContactHistory
    jobs: JobQueue
    clock: Clock

    @property
    def dispositions(self) -> list[str]:
        return self.config.operator.agent_console.dispositions

    def status(self, agent: Agent) -> AgentStatus:
        return self.queue_service.agent(self.config.queue_named(agent.queue), agent.id)

    def set_state(self, agent: Agent, wanted: AgentState) -> AgentStatus | None:
        """Available or away. None while a call is being put through, is in progress or
        is still to be wrapped up."""
        queue = self.config.queue_named(agent.queue)
        if self.queue_service.agent(queue, agent.id).state is AgentState.wrap_up:
            return None
        status = self.queue_service.set_agent_state(queue, agent.id, wanted, agent.languages)
        if status is not None and status.state is AgentState.available:
            self.jobs.dispatch_soon(queue.name)
        return status

    def screen_pop(self, agent: Agent, call_sid: str) -> ScreenPop:
        """Everything known about a call offered to this agent, and the customer's earlier
        contacts. Raises NotYourCall for any other call."""
        record, handoff = self._own_call(agent, call_sid)
        customer_account = record.verified_account if record.verification == "verified" else None
        earlier = self.history.earlier_contacts(
            customer_account,
            record.caller or None,
            before_call=call_sid,
            now=self.clock(),
            limit=self.config.operator.agent_console.contacts_shown,
        )
        contact = self.history.contact(call_sid)
        summary = record.dialogue.get("summary")
        return ScreenPop(
            call_sid=call_sid,
            caller=record.caller,
            language=record.language,
            language_name=language_name(self.config, record.language, agent.whisper_language).text,
            customer_name=record.customer_name if record.verification == "verified" else None,
            verification=record.verification,
            verification_method=record.verification_method,
            reason=record.reason,
            reason_name=self._reason_name(record.reason, agent.whisper_language),
            reason_source=record.reason_source,
            summary=str(summary) if summary else None,
            details={
                label: detail_words(slot, record.dialogue[slot])
                for slot, label in DETAIL_SLOTS.items()
                if record.dialogue.get(slot) not in (None, "")
            },
            transcript=self.calls.transcript(call_sid),
            started_at=record.started_at,
            waited_seconds=handoff.waited_seconds,
            answered=handoff.answered_by == agent.id,
            earlier=earlier,
            wrap_up=contact.wrap_up if contact else None,
        )

    def _reason_name(self, reason: str | None, language: str) -> str | None:
        """ "A billing question" for `billing`, as the operator names reasons to agents."""
        return self.config.reason_name(reason, language) if reason else None

    def wrap_up(
        self,
        agent: Agent,
        call_sid: str,
        disposition: str,
        notes: str,
        then: AgentState,
    ) -> AgentStatus:
        """Save the agent's disposition and notes into the customer's contact history, then
        make them available or away."""
        record, handoff = self._own_call(agent, call_sid)
        if handoff.answered_by != agent.id:
            raise WrapUpRefused("you did not take this call")
        if disposition not in self.dispositions:
            raise WrapUpRefused(f"choose one of: {', '.join(self.dispositions)}")
        notes = notes.strip()
        if len(notes) > NOTES_MAX_CHARS:
            raise WrapUpRefused(f"notes are limited to {NOTES_MAX_CHARS} characters")
        if then not in (AgentState.available, AgentState.away):
            raise WrapUpRefused("after wrap-up, choose available or away")
        now = self.clock()
        contact = self.history.contact(call_sid)
        summary = contact.call if contact else summary_of(record, handoff, Outcome.answered, now)
        self.history.record_wrap_up(
            summary,
            WrapUp(
                agent_id=agent.id,
                agent_name=agent.name,
                disposition=disposition,
                notes=notes,
                at=now,
            ),
        )
        queue = self.config.queue_named(agent.queue)
        status = self.queue_service.agent(queue, agent.id)
        if status.state is AgentState.wrap_up and status.call_sid == call_sid:
            status = (
                self.queue_service.set_agent_state(queue, agent.id, then, agent.languages) or status
            )
            if status.state is AgentState.available:
                self.jobs.dispatch_soon(queue.name)
        return status

    def _own_call(self, agent: Agent, call_sid: str) -> tuple[CallRecord, Handoff]:
        record = self.calls.get(call_sid)
        if record is None or not self.calls.was_offered_to(call_sid, agent.id):
            raise NotYourCall(call_sid)
        return record, self.calls.handoff(call_sid)
