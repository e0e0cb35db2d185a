"""Twilio voice webhooks. `/voice/incoming` and `/voice/status` are the fixed interfaces a
Twilio number points at; the others are reached only through TwiML the app returns."""

from __future__ import annotations

from flask import Blueprint, Response

from app.services import get_services
from app.twilio_webhook import GatherResult, VoiceRequest, twilio_webhook

bp = Blueprint("voice", __name__, url_prefix="/voice")


def _twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


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
