"""Twilio voice webhooks. `/voice/incoming` and `/voice/status` are the fixed interfaces a
Twilio number points at; the others are reached only through TwiML the app returns."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, jsonify, request

from app.agents import AGENT_ID_PATTERN
from app.services import get_services
from app.twilio_webhook import (
    AgentLegRequest,
    DialResult,
    GatherResult,
    VoiceRequest,
    twilio_webhook,
)

bp = Blueprint("voice", __name__, url_prefix="/voice")


def _twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _agent_id() -> str:
    """The agent named in a hand-off URL (signed by Twilio along with the rest of it)."""
    agent_id = request.args.get("agent", "")
    if not re.match(AGENT_ID_PATTERN, agent_id):
        response = jsonify(error="the agent query parameter is missing or malformed")
        response.status_code = 400
        abort(response)
    return agent_id


@bp.post("/incoming")
@twilio_webhook(VoiceRequest)
def incoming(params: VoiceRequest) -> Response:
    return _twiml(get_services().call_flow.incoming(params))


@bp.post("/turn")
@twilio_webhook(GatherResult)
def turn(params: GatherResult) -> Response:
    return _twiml(get_services().call_flow.turn(params))


@bp.post("/secret")
@twilio_webhook(GatherResult)
def secret(params: GatherResult) -> Response:
    return _twiml(get_services().call_flow.secret(params))


@bp.post("/menu")
@twilio_webhook(GatherResult)
def menu(params: GatherResult) -> Response:
    return _twiml(get_services().call_flow.menu(params))


@bp.post("/wait")
@twilio_webhook(VoiceRequest)
def wait(params: VoiceRequest) -> Response:
    return _twiml(get_services().call_flow.wait(params))


@bp.post("/status")
@twilio_webhook(VoiceRequest)
def status(params: VoiceRequest) -> Response:
    get_services().call_flow.ended(params)
    return Response(status=204)


# Hand-off to an agent: reached only through the REST redirect a worker makes and the
# TwiML below (app/handoff.py).


@bp.post("/connect")
@twilio_webhook(VoiceRequest)
def connect(params: VoiceRequest) -> Response:
    return _twiml(get_services().handoff.connect(params, _agent_id()))


@bp.post("/whisper")
@twilio_webhook(AgentLegRequest)
def whisper(params: AgentLegRequest) -> Response:
    return _twiml(get_services().handoff.whisper(params, _agent_id()))


@bp.post("/dial-result")
@twilio_webhook(DialResult)
def dial_result(params: DialResult) -> Response:
    return _twiml(get_services().handoff.dial_result(params, _agent_id()))
