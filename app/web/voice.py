"""Twilio voice webhooks. `/voice/incoming` and `/voice/status` are the fixed interfaces a
Twilio number points at; the others are reached only through TwiML the app returns. Paths
come from `app.twiml`, which writes every URL Twilio is given.

The queue store (Redis) failing never reaches Twilio as an error: a caller's webhook answers
TwiML that keeps the line and tries again (`app.outage`), a status callback is acknowledged,
and an agent's whisper is skipped so the agent and the caller are still put through. The
signature is checked first all the same: an unsigned request gets its 403 before anything
touches Redis."""

from __future__ import annotations

import logging
import re
import time
from typing import NoReturn

import redis
from flask import Blueprint, Response, abort, g, jsonify, request

from app import metrics, outage
from app.agents import AGENT_ID_PATTERN
from app.bootstrap import get_services
from app.queue_service import CallbackAttempt
from app.settings import QueueSettings
from app.twilio_webhook import (
    AgentLegRequest,
    CallbackAnswer,
    DialResult,
    GatherResult,
    VoiceRequest,
    centre_number,
    twilio_webhook,
)
from app.twiml import ATTEMPT_PARAMETER, path, render
from app.voice_reply import Reply, Route

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__)


@bp.before_request
def _started() -> None:
    g.webhook_started = time.perf_counter()


@bp.after_request
def _timed(response: Response) -> Response:
    started = g.get("webhook_started")
    if started is not None and request.endpoint:
        route = request.endpoint.removeprefix("voice.")
        metrics.WEBHOOK_SECONDS.labels(route).observe(time.perf_counter() - started)
    return response


def _twiml(reply: Reply) -> Response:
    return Response(render(reply), mimetype="text/xml")


def _bad_request(reason: str) -> NoReturn:
    response = jsonify(error=reason)
    response.status_code = 400
    abort(response)


def _agent_id() -> str:
    """The agent named in a hand-off URL (signed by Twilio along with the rest of it)."""
    agent_id = request.args.get("agent", "")
    if not re.match(AGENT_ID_PATTERN, agent_id):
        _bad_request("the agent query parameter is missing or malformed")
    return agent_id


@bp.post(path(Route.incoming))
@twilio_webhook(VoiceRequest)
def incoming(params: VoiceRequest) -> Response:
    return _twiml(get_services().arrival.incoming(params))


@bp.post(path(Route.turn))
@twilio_webhook(GatherResult)
def turn(params: GatherResult) -> Response:
    return _twiml(get_services().conversation.turn(params))


@bp.post(path(Route.secret))
@twilio_webhook(GatherResult)
def secret(params: GatherResult) -> Response:
    return _twiml(get_services().conversation.secret(params))


@bp.post(path(Route.menu))
@twilio_webhook(GatherResult)
def menu(params: GatherResult) -> Response:
    return _twiml(get_services().conversation.menu(params))


@bp.post(path(Route.language))
@twilio_webhook(GatherResult)
def language(params: GatherResult) -> Response:
    return _twiml(get_services().language_choice.key_pressed(params))


@bp.post(path(Route.wait))
@twilio_webhook(VoiceRequest)
def wait(params: VoiceRequest) -> Response:
    return _twiml(get_services().wait_loop.next_round(params))


@bp.post(path(Route.resume))
@twilio_webhook(VoiceRequest)
def resume(params: VoiceRequest) -> Response:
    """Another try after the queue store failed (the redirect `app.outage` answered)."""
    services = get_services()
    if outage.parse_attempt(request.args.get(ATTEMPT_PARAMETER), services.config) is None:
        _bad_request("the attempt query parameter is missing or out of range")
    return _twiml(services.resumption.resume(params))


@bp.post(path(Route.status))
@twilio_webhook(VoiceRequest)
def status(params: VoiceRequest) -> Response:
    get_services().call_end.status_changed(params)
    return Response(status=204)


# Hand-off to an agent: reached only through the REST redirect a worker makes and the
# TwiML of the hand-off (app/handoff.py).


@bp.post(path(Route.connect))
@twilio_webhook(VoiceRequest)
def connect(params: VoiceRequest) -> Response:
    return _twiml(get_services().handoff.connect(params, _agent_id()))


@bp.post(path(Route.whisper))
@twilio_webhook(AgentLegRequest)
def whisper(params: AgentLegRequest) -> Response:
    return _twiml(get_services().handoff.whisper(params, _agent_id()))


@bp.post(path(Route.dial_result))
@twilio_webhook(DialResult)
def dial_result(params: DialResult) -> Response:
    return _twiml(get_services().handoff.dial_result(params, _agent_id()))


# Callbacks: the caller's choice and number on their own call, then the outbound call the
# worker placed (app/callback_request.py, app/callback_calls.py).


@bp.post(path(Route.callback_offer))
@twilio_webhook(GatherResult)
def callback_offer(params: GatherResult) -> Response:
    return _twiml(get_services().callback_requests.offer_at_opening(params))


@bp.post(path(Route.callback_choice))
@twilio_webhook(GatherResult)
def callback_choice(params: GatherResult) -> Response:
    return _twiml(get_services().callback_requests.choice(params))


@bp.post(path(Route.callback_number))
@twilio_webhook(GatherResult)
def callback_number(params: GatherResult) -> Response:
    return _twiml(get_services().callback_requests.number(params))


def _callback_attempt() -> tuple[QueueSettings, CallbackAttempt]:
    """The queue, ticket, offer and agent a callback's URL names (signed by Twilio)."""
    name, ticket, offer = (request.args.get(k, "") for k in ("queue", "ticket", "offer"))
    queue = get_services().config.find_queue(name)
    if queue is None or not ticket.isdecimal() or not offer.isdecimal():
        _bad_request("the queue, ticket or offer query parameter is missing or malformed")
    return queue, CallbackAttempt(int(ticket), int(offer), _agent_id())


@bp.post(path(Route.callback_answer))
@twilio_webhook(CallbackAnswer)
def callback_answer(params: CallbackAnswer) -> Response:
    queue, attempt = _callback_attempt()
    return _twiml(get_services().callback_calls.answered(params, queue, attempt))


@bp.post(path(Route.callback_cancel))
@twilio_webhook(GatherResult)
def callback_cancel(params: GatherResult) -> Response:
    return _twiml(get_services().callback_calls.cancel(params))


@bp.post(path(Route.callback_status))
@twilio_webhook(VoiceRequest)
def callback_status(params: VoiceRequest) -> Response:
    queue, attempt = _callback_attempt()
    get_services().callback_calls.status_changed(params, queue, attempt)
    return Response(status=204)


@bp.errorhandler(redis.RedisError)
def queue_store_down(error: redis.RedisError) -> Response:
    """Redis failed during a voice webhook (after its signature and shape were checked:
    nothing before the view touches Redis). Twilio gets an answer it can use, never a 5xx,
    which would make it play its application error and drop the caller."""
    call_sid = request.form.get("CallSid", "")
    log.error("queue store unavailable during %s for call %s: %s", request.path, call_sid, error)
    if request.endpoint in ("voice.status", "voice.callback_status"):
        # Acknowledged so Twilio does not retry it; the end is not recorded. If Redis comes
        # back with the call's place, the stale-call sweep (app/stale_calls.py) asks Twilio
        # about the quiet call and ends it then.
        log.warning(
            "status %s of call %s not recorded (queue store down): the stale-call sweep "
            "will end it",
            request.form.get("CallStatus", "?"),
            call_sid,
        )
        return Response(status=204)
    if request.endpoint == "voice.whisper":
        # The agent's leg: no whisper, but the agent and the caller are still put through
        # (the document ends, so the bridge completes).
        return _twiml(Reply(()))
    config = get_services().config
    raw = request.args.get(ATTEMPT_PARAMETER)
    attempt = 0 if raw is None else outage.parse_attempt(raw, config)
    if attempt is None:
        attempt = config.operator.outage.max_attempts
    form = request.form
    ours = centre_number(form.get("To", ""), form.get("From", ""), form.get("Direction", ""))
    return _twiml(outage.while_down(config, ours, call_sid, attempt))
