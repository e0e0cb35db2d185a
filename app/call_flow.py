"""What the caller hears next: each Twilio request becomes a queue action plus TwiML.

Views translate HTTP into these calls; everything a caller hears is decided here, with
sentences from the operator's YAML and TwiML built with twilio's VoiceResponse.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from app import business_hours, speech
from app.calls import CallRecord, CallStore, TranscriptEntry
from app.queue_service import CallState, QueueService, SlotOutcome
from app.settings import LanguageSettings, OperatorConfig, QueueSettings
from app.twilio_webhook import GatherResult, VoiceRequest
from app.wait_estimate import estimate_wait_seconds

log = logging.getLogger(__name__)

# Twilio-facing URLs other than the two fixed webhooks: the project's choice, reached only
# through the TwiML below.
TURN_URL = "/voice/turn"
WAIT_URL = "/voice/wait"

PERSON_KEY = "0"  # at any prompt: a person, now
ASSISTANT_KEY = "1"  # while waiting: talk to the assistant again


@dataclass(frozen=True)
class _Context:
    queue: QueueSettings
    language: str
    lang: LanguageSettings


class CallFlow:
    """The use cases of a call in the queue, one method per Twilio request."""

    def __init__(
        self,
        config: OperatorConfig,
        queue_service: QueueService,
        calls: CallStore,
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._queue = queue_service
        self._calls = calls
        self._clock = clock

    # -- requests -------------------------------------------------------------------------

    def incoming(self, params: VoiceRequest) -> str:
        """A call arrives (or Twilio retries): take or restore the slot and greet."""
        ctx = self._context(params.To)
        now = self._clock()
        open_now = business_hours.is_open(self._config.operator, _utc(now))
        caller = params.caller_number
        slot = self._queue.take_slot(ctx.queue, params.CallSid, caller, allow_new=open_now)
        if slot.outcome is SlotOutcome.closed:
            log.info("call %s arrived while closed", params.CallSid)
            return self._closed(ctx, now)
        if slot.outcome is SlotOutcome.serving:
            # Already bridged to an agent: nothing to add to that call.
            return str(VoiceResponse())

        record = self._calls.get(params.CallSid)
        if record is None:
            record = CallRecord(
                call_sid=params.CallSid,
                queue=ctx.queue.name,
                language=ctx.language,
                caller=caller or "",
                started_at=now,
            )
            if slot.previous_call_sid:
                record = self._calls.carry_over(slot.previous_call_sid, record)
        log.info(
            "call %s took ticket %s (%s), %s ahead",
            params.CallSid,
            slot.ticket,
            slot.outcome,
            slot.people_ahead,
        )
        wait = self._estimate(ctx.queue, slot.people_ahead)
        record = record.model_copy(
            update={
                "announced_ahead": slot.people_ahead,
                "announced_wait": wait,
                "announced_at": now,
            }
        )
        self._calls.save(record)

        prompts = ctx.lang.prompts
        response = VoiceResponse()
        gather = self._gather(ctx, speech_too=True)
        sentences = [prompts.greeting.format(company=self._config.operator.company)]
        if slot.outcome is SlotOutcome.restored:
            sentences.append(prompts.place_restored)
        sentences += [
            prompts.place_guaranteed,
            speech.people_ahead_sentence(ctx.lang, ctx.language, slot.people_ahead),
            speech.wait_sentence(ctx.lang, ctx.language, wait),
        ]
        if caller is None:
            sentences.append(prompts.withheld_number)
        if record.wants_agent:
            sentences.append(prompts.person_requested)
        else:
            sentences += [prompts.offer_help, prompts.how_to_reach_a_person]
        for sentence in sentences:
            self._say(gather, ctx, sentence)
        response.append(gather)
        response.redirect(WAIT_URL)
        return str(response)

    def turn(self, params: GatherResult) -> str:
        """The caller spoke or pressed keys at a prompt."""
        record = self._calls.get(params.CallSid)
        if record is None:
            # A signed request for a call we do not know (state lost, or a request that
            # overtook the greeting): give it a place rather than drop a live caller.
            log.warning("turn for unknown call %s: answering as a new arrival", params.CallSid)
            return self.incoming(params)
        ctx = self._context(params.To, record.language)
        prompts = ctx.lang.prompts
        now = self._clock()
        said = params.SpeechResult.strip()
        digits = params.Digits.strip("#")

        if said:
            self._calls.add_to_transcript(
                params.CallSid,
                TranscriptEntry(
                    at=now,
                    speaker="caller",
                    text=said,
                    input="speech",
                    confidence=params.Confidence,
                ),
            )
        elif digits:
            self._calls.add_to_transcript(
                params.CallSid,
                TranscriptEntry(at=now, speaker="caller", text=digits, input="dtmf"),
            )

        response = VoiceResponse()
        if digits == PERSON_KEY or wants_a_person(said, ctx.lang.human_words):
            self._calls.save(record.model_copy(update={"wants_agent": True}))
            log.info("call %s asked for a person", params.CallSid)
            self._say(response, ctx, prompts.person_requested)
        elif digits == ASSISTANT_KEY:
            gather = self._gather(ctx, speech_too=True)
            self._say(gather, ctx, prompts.ask_how_to_help)
            response.append(gather)
        elif said:
            self._say(response, ctx, prompts.noted_for_agent)
        response.redirect(WAIT_URL)
        return str(response)

    def wait(self, params: VoiceRequest) -> str:
        """One round of the wait loop: an update when due and changed, then hold music with
        the keypad (and, if the operator allows, speech) listening."""
        record = self._calls.get(params.CallSid)
        if record is None:
            log.warning("wait for unknown call %s: answering as a new arrival", params.CallSid)
            return self.incoming(params)
        ctx = self._context(params.To, record.language)
        position = self._queue.position(ctx.queue, params.CallSid)
        if position.state is CallState.unknown:
            log.warning("call %s has no place in %s: taking one", params.CallSid, ctx.queue.name)
            return self.incoming(params)
        response = VoiceResponse()
        if position.state is CallState.serving:
            return str(response)

        now = self._clock()
        ahead = position.people_ahead or 0
        wait = self._estimate(ctx.queue, ahead)
        due = (
            record.announced_at is None
            or now - record.announced_at >= ctx.queue.announce_every_seconds
        )
        changed = ahead != record.announced_ahead or speech.wait_sentence(
            ctx.lang, ctx.language, wait
        ) != speech.wait_sentence(ctx.lang, ctx.language, record.announced_wait)

        gather = self._gather(ctx, speech_too=self._config.operator.listen_for_speech_while_waiting)
        updates: dict[str, object] = {}
        if due and changed:
            self._say(gather, ctx, speech.people_ahead_sentence(ctx.lang, ctx.language, ahead))
            self._say(gather, ctx, speech.wait_sentence(ctx.lang, ctx.language, wait))
            updates |= {"announced_ahead": ahead, "announced_wait": wait, "announced_at": now}
        if updates or not record.heard_wait_menu:
            # The keys are explained on the first round and with every update.
            self._say(gather, ctx, ctx.lang.prompts.wait_menu)
            updates["heard_wait_menu"] = True
        if updates:
            self._calls.save(record.model_copy(update=updates))
        if self._config.operator.hold_music_url:
            gather.play(self._config.operator.hold_music_url)
        else:
            gather.pause(length=ctx.queue.announce_every_seconds)
        response.append(gather)
        response.redirect(WAIT_URL)
        return str(response)

    def ended(self, params: VoiceRequest) -> str:
        """Call status changed. Only an end matters: an unserved caller keeps their place
        for the grace period. Unknown and repeated callbacks change nothing."""
        if not params.CallStatus.ended:
            return "ignored"
        queue = self._config.queue_for_number(params.To)
        outcome = self._queue.end_call(queue, params.CallSid)
        log.info("call %s ended (%s): %s", params.CallSid, params.CallStatus, outcome)
        return outcome.value

    # -- helpers --------------------------------------------------------------------------

    def _context(self, called: str, language: str | None = None) -> _Context:
        queue = self._config.queue_for_number(called)
        code = language if language in self._config.operator.languages else queue.language
        return _Context(queue=queue, language=code, lang=self._config.language(code))

    def _estimate(self, queue: QueueSettings, people_ahead: int) -> float | None:
        snapshot = self._queue.snapshot(queue)
        return estimate_wait_seconds(
            people_ahead,
            snapshot.handle_times,
            agents_working=snapshot.serving + snapshot.offered,
            min_samples=queue.estimate_min_samples,
        )

    def _gather(self, ctx: _Context, *, speech_too: bool) -> Gather:
        options: dict[str, object] = {
            "action": TURN_URL,
            "method": "POST",
            "num_digits": 1,
            "timeout": 3,
        }
        if speech_too:
            options |= {
                "input": "speech dtmf",
                "language": ctx.language,
                "speech_timeout": "auto",
                "speech_model": ctx.lang.speech_model,
            }
            if ctx.lang.speech_hints:
                options["hints"] = ", ".join(ctx.lang.speech_hints)
        else:
            options["input"] = "dtmf"
        return Gather(**options)

    @staticmethod
    def _say(target: VoiceResponse | Gather, ctx: _Context, text: str) -> None:
        target.say(text, voice=ctx.lang.voice, language=ctx.language)

    def _closed(self, ctx: _Context, now: float) -> str:
        prompts = ctx.lang.prompts
        operator = self._config.operator
        response = VoiceResponse()
        self._say(response, ctx, prompts.closed.format(company=operator.company))
        self._say(response, ctx, prompts.opening_hours)
        local_now = _utc(now)
        opening = business_hours.next_opening(operator, local_now)
        if opening is not None:
            local = local_now.astimezone(opening.tzinfo)
            self._say(response, ctx, speech.next_opening_sentence(ctx.lang, local, opening))
        self._say(response, ctx, prompts.goodbye)
        response.hangup()
        return str(response)


def wants_a_person(said: str, human_words: list[str]) -> bool:
    """True when the caller's words ask for a human ("agent", "a real person", ...)."""
    text = " ".join(re.findall(r"\w+", said.lower()))
    return any(
        re.search(rf"\b{re.escape(word.lower())}\b", text) is not None for word in human_words
    )


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
