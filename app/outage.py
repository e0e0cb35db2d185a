"""The queue store (Redis) fails while a caller is on the line.

Without Redis no place can be read or changed, but the caller must not hear Twilio's
application error and be cut off. Every caller-leg webhook that meets a Redis error answers
TwiML instead (`app/web/voice.py`): an apology, a short pause and a redirect to
`Route.resume` carrying which try this is. The tries are bounded by the operator's `outage`
settings (about a minute by default); after the last one the call goes to the operator's
fallback (a number dialled, or a plain Twilio queue) or, with none, the caller is told to
call again and the call ends.

Once Redis answers again, `resume` carries on where the caller was: the slot is idempotent
per CallSid, so a caller who had a place keeps that same ticket and hears so, with the people
ahead; a caller whose place Redis lost (or who never got one) arrives as a new caller.

Nothing here needs Redis until `resume` succeeds: the language comes from the called number's
queue (the call's own record cannot be read).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from app import speech
from app.call_context import for_called_number
from app.calls import CallStore
from app.queue_service import CallState, QueueService
from app.queue_wait_estimate import estimate_for
from app.settings import OperatorConfig
from app.twilio_webhook import VoiceRequest
from app.voice_reply import (
    DialNumber,
    HangUp,
    JoinTwilioQueue,
    Pause,
    Reply,
    Step,
    TryAgain,
)
from app.wait_announcement import announced
from app.wait_loop import WaitLoop

log = logging.getLogger(__name__)

# The apology is repeated every this many tries (about every 20 s at the default pause), so
# the caller is not left in unexplained silence, nor told the same thing every 5 s.
APOLOGY_EVERY = 4

_DIGITS = re.compile(r"^[0-9]{1,3}$")


def parse_attempt(raw: str | None, config: OperatorConfig) -> int | None:
    """The try number a `Route.resume` URL carries: 1 to the operator's `max_attempts`, or
    None when it is missing or out of range."""
    if raw is None or not _DIGITS.match(raw):
        return None
    attempt = int(raw)
    if not 1 <= attempt <= config.operator.outage.max_attempts:
        return None
    return attempt


def while_down(config: OperatorConfig, called: str, call_sid: str, attempt: int) -> Reply:
    """What a caller gets when a webhook met a Redis error on try `attempt` (0: the first
    request, not yet a retry): hold and try again, or, after the last try, the fallback."""
    ctx = for_called_number(config, called)
    prompts = ctx.lang.prompts
    settings = config.operator.outage
    if attempt < settings.max_attempts:
        log.warning(
            "call %s: queue store down, try %s of %s", call_sid, attempt, settings.max_attempts
        )
        steps: list[Step] = [ctx.say(prompts.outage_hold)] if attempt % APOLOGY_EVERY == 0 else []
        return ctx.reply(*steps, Pause(settings.retry_pause_seconds), TryAgain(attempt + 1))
    if settings.fallback_number:
        log.error("call %s: queue store still down, passed to the fallback number", call_sid)
        return ctx.reply(ctx.say(prompts.outage_passed_on), DialNumber(settings.fallback_number))
    if settings.fallback_queue:
        log.error("call %s: queue store still down, passed to the fallback queue", call_sid)
        return ctx.reply(
            ctx.say(prompts.outage_passed_on), JoinTwilioQueue(settings.fallback_queue)
        )
    log.error("call %s: queue store still down and no fallback configured: hung up", call_sid)
    return ctx.reply(ctx.say(prompts.outage_call_again), ctx.say(prompts.goodbye), HangUp())


@dataclass(frozen=True)
class Resumption:
    """A caller's try after an outage, with Redis answering again."""

    config: OperatorConfig
    queue_service: QueueService
    calls: CallStore
    wait_loop: WaitLoop

    def resume(self, params: VoiceRequest) -> Reply:
        """A caller whose place is still there hears that it is, with the people ahead, and
        goes back to the wait loop; anyone else is taken in as a new arrival (the slot is
        idempotent per CallSid, so nothing is taken twice)."""
        record = self.calls.get(params.CallSid)
        if record is None:
            log.warning(
                "call %s back after an outage with no record: arriving anew", params.CallSid
            )
            return self.wait_loop.next_round(params)
        ctx = for_called_number(self.config, params.our_number, record.language)
        position = self.queue_service.position(ctx.queue, params.CallSid)
        if position.state not in (CallState.waiting, CallState.offered):
            return self.wait_loop.next_round(params)
        ahead = position.people_ahead or 0
        wait = estimate_for(
            self.queue_service.snapshot(ctx.queue),
            ctx.queue,
            ahead,
            ctx.language,
            self.wait_loop.config.timezone,
        )
        log.info(
            "call %s back after an outage: ticket %s kept, %s ahead",
            params.CallSid,
            position.ticket,
            ahead,
        )
        # Said now, so recorded as announced: the wait loop does not repeat it at once.
        now = self.wait_loop.clock()
        self.calls.save(record.model_copy(update=announced(ahead, wait, now)))
        sentences = [
            ctx.say(ctx.lang.prompts.outage_resumed),
            speech.people_ahead_sentence(ctx.lang, ctx.language, ahead),
            speech.wait_sentence(ctx.lang, ctx.language, wait),
        ]
        carry_on = self.wait_loop.next_round(params)
        return Reply((*sentences, *carry_on.steps), carry_on.voice or ctx.voice)
