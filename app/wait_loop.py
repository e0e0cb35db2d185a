"""The wait loop: hold music with the keypad (and, if the operator allows, speech) listening,
and the people ahead and the wait repeated at the queue's cadence when they changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app import language_menu, listening, speech
from app.arrival import Arrival
from app.call_context import CallContext, call_context
from app.calls import CallRecord, CallStore
from app.clock import Clock
from app.queue_service import CallState, QueueService
from app.queue_wait_estimate import PollEstimates
from app.settings import OperatorConfig
from app.twilio_webhook import VoiceRequest
from app.voice_reply import GoTo, Pause, Play, Reply, Route, Say
from app.wait_announcement import announced, changed_materially, median_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitLoop:
    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    arrival: Arrival
    clock: Clock
    estimates: PollEstimates = field(default_factory=PollEstimates)

    def next_round(self, params: VoiceRequest) -> Reply:
        """One round of the wait loop. A call with no record or no place is given one (state
        lost, or a request that overtook the greeting) rather than dropped."""
        # The record, the sweep's "still heard of" and the place, in one round trip (the
        # queue is the number's, whatever the record says).
        now = self.clock()
        queue = self.config.queue_for_number(params.our_number)
        batch = self.calls.batch()
        read_record = self.calls.get_in(batch, params.CallSid, seen_at=now)
        read_place = self.queue_service.poll_in(batch, queue, params.CallSid)
        batch.send()
        record = read_record()
        if record is None:
            log.warning("wait for unknown call %s: answering as a new arrival", params.CallSid)
            return self.arrival.incoming(params)
        ctx = call_context(self.config, queue, record.language)
        polled = read_place()
        position = polled.position
        if position.state is CallState.unknown:
            log.warning("call %s has no place in %s: taking one", params.CallSid, ctx.queue.name)
            return self.arrival.incoming(params)
        if position.state is CallState.serving:
            return Reply((Pause(1),))
        if position.language is None and ctx.queue.multilingual:
            # Left the language menu without a choice reaching us: it is offered again.
            return language_menu.offer(self.config, ctx)
        prompt = self._update(ctx, record, polled.inputs, position.people_ahead or 0, now)
        listen = listening.while_waiting(
            (*prompt, self._hold(ctx)), speech=self.config.operator.listen_for_speech_while_waiting
        )
        return ctx.reply(listen, GoTo(Route.wait))

    def _update(
        self, ctx: CallContext, record: CallRecord, inputs: str, ahead: int, now: float
    ) -> list[Say]:
        """What to say before the music this round, saving what was announced."""
        wait = self.estimates.estimate(
            ctx.queue,
            ctx.language,
            ahead,
            inputs,
            now,
            lambda: self.queue_service.snapshot(ctx.queue),
            self.config.timezone,
        )
        due = (
            record.announced_at is None
            or now - record.announced_at >= ctx.queue.announce_every_seconds
        )
        changed = ahead != record.announced_ahead or changed_materially(
            record.announced_wait, median_of(wait)
        )
        sentences: list[Say] = []
        # Back in the wait loop: whatever a prompt was waiting for is over, so "1" opens
        # the assistant again.
        updates: dict[str, object] = {"awaiting": None} if record.awaiting else {}
        if due and changed:
            sentences += [
                speech.people_ahead_sentence(ctx.lang, ctx.language, ahead),
                speech.wait_sentence(ctx.lang, ctx.language, wait),
            ]
            updates |= announced(ahead, wait, now)
        if updates or not record.heard_wait_menu:
            # The keys are explained on the first round and with every update.
            sentences.append(ctx.say(ctx.lang.prompts.wait_menu))
            if ctx.queue.callbacks.enabled:
                key = int(listening.CALLBACK_KEY)
                sentences.append(ctx.say(ctx.lang.prompts.callback_option, key=key))
            hint = language_menu.switch_hint(ctx)
            if hint is not None:
                sentences.append(hint)
            updates["heard_wait_menu"] = True
        if updates:
            self.calls.save(record.model_copy(update=updates))
        return sentences

    def _hold(self, ctx: CallContext) -> Play | Pause:
        music = self.config.operator.hold_music_url
        return Play(music) if music else Pause(ctx.queue.announce_every_seconds)
