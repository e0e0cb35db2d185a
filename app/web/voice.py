"""Twilio voice webhooks. `/voice/incoming` and `/voice/status` are the fixed interfaces a
Twilio number points at; the others are reached only through TwiML the app returns. Paths
come from `app.twiml`, which writes every URL Twilio is given."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, jsonify, request

from app.agents import AGENT_ID_PATTERN
from app.bootstrap import get_services
from app.twilio_webhook import (
    AgentLegRequest,
    DialResult,
    GatherResult,
    VoiceRequest,
    twilio_webhook,
)
from app.twiml import path, render
from app.voice_reply import Reply, Route

bp = Blueprint("voice", __name__)


def _twiml(reply: Reply) -> Response:
    return Response(render(reply), mimetype="text/xml")


def _agent_id() -> str:
    """The agent named in a hand-off URL (signed by Twilio along with the rest of it)."""
    agent_id = request.args.get("agent", "")
    if not re.match(AGENT_ID_PATTERN, agent_id):
        response = jsonify(error="the agent query parameter is missing or malformed")
        response.status_code = 400
        abort(response)
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


@bp.post(path(Route.wait))
@twilio_webhook(VoiceRequest)
def wait(params: VoiceRequest) -> Response:
    return _twiml(get_services().wait_loop.next_round(params))


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
