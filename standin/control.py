"""The stand-in's control API: JSON under `/sim` for the people and scripts playing the
callers and the agents' phones (`python -m standin call` and `run` use it).

    GET  /sim                               the stand-in, its mode, whether the app answers
    GET  /sim/calls                         every call (newest first)
    POST /sim/calls {from, to}              an inbound call; answers once it waits for
                                            someone (listening, ringing, bridged) or ended
    GET  /sim/calls/{sid}[?wait_for=STATE&timeout=S]
                                            a call; optionally wait (long-poll) until it is
                                            listening, ringing, with_agent, playing, ended or
                                            settled (408 with the call if it does not)
    GET  /sim/calls/{sid}/events?since=N&wait=S
                                            what happened after event N, waiting up to S
                                            seconds for something to happen
    POST /sim/calls/{sid}/say {text, confidence} | press {digits} | silence | hangup | drop
                                            the caller acts (once the line waits for them);
                                            answers once it waits for someone again, with
                                            what happened meanwhile
    POST /sim/calls/{sid}/agent/hangup      the agent on the call hangs up
    GET  /sim/calls/{sid}/agent             the agent leg: who, its state, what it heard
    GET  /sim/phones                        phone behaviours
    PUT  /sim/phones/{address} {answer, press}
                                            how a phone answers: now, "after 2s", never,
                                            busy, failed; keys it presses at a Gather

Errors: 403 for a Host header that is not a loopback name (against DNS rebinding), 404
unknown call, 409 when the line cannot take the action now (with the reason),
502 when the app answered what Twilio would not accept (the call has then ended).
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

import requests
from flask import Blueprint, Response, jsonify, request

from standin.current import get_app_address, get_twilio
from standin.leg import SimulatedCall
from standin.line import AppError, LineState, SimulatorError, new_call_sid
from standin.phones import PhoneBehaviour, PhoneBehaviourError

# The longest a request waits for something to happen.
MAX_WAIT_SECONDS = 120.0
# A caller's action first waits this long for a webhook in flight to return.
SETTLE_SECONDS = 20.0
WAIT_STATES = {"listening", "ringing", "with_agent", "playing", "ended", "settled", "bridged"}
_ADDRESS = re.compile(r"^(\+[1-9]\d{6,14}|client:[A-Za-z0-9_.@-]{1,256}|sips?:\S{3,256})$")


class ControlError(Exception):
    def __init__(self, status: int, message: str, call: SimulatedCall | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.call = status, message, call


def line_state(call: SimulatedCall) -> str:
    """The state as the control API names it: a caller bridged to an agent is
    `with_agent`; everything else is the line's own state."""
    if call.state is LineState.bridged and call.parent is None:
        return "with_agent"
    return call.state.value


# States in which the line waits for someone (the caller, a phone that rings, the other
# party) rather than for Twilio itself (a webhook, a Say or music still playing).
_WAITING_FOR_SOMEONE = {LineState.listening, LineState.ringing, LineState.bridged, LineState.queued}


def waiting_for_someone(call: SimulatedCall) -> bool:
    return call.ended or (not call.busy and call.state in _WAITING_FOR_SOMEONE)


def _settle(call: SimulatedCall) -> None:
    """Let what the app said in answer play out (real time: Says and short music outside a
    Gather take their time), so the caller's next action meets the line that follows."""
    call.wait_for(waiting_for_someone, SETTLE_SECONDS)


def _reached(call: SimulatedCall, state: str) -> bool:
    if state == "settled":
        return waiting_for_someone(call)
    if state == "ended":
        return call.ended
    return not call.busy and line_state(call) == state


# A leg and a call as the control API shows them; `client.py` reads them. The functional
# form, because `from` cannot be a class attribute.
LegView = TypedDict(
    "LegView",
    {
        "sid": str,
        "to": str,
        "from": str,
        "status": str,
        "state": str,
        "heard": list[str],
        "ended_reason": str,
    },
)
CallView = TypedDict(
    "CallView",
    {
        "sid": str,
        "from": str,
        "to": str,
        "direction": str,
        "parent_call_sid": str | None,
        "status": str,
        "state": str,
        "listening_for": list[str],
        "with_agent": str | None,
        "agent": LegView | None,
        "heard": list[str],
        "events": int,  # how many the call has recorded
        "ended_reason": str,
        "error": str | None,
    },
)


def leg_view(leg: SimulatedCall) -> LegView:
    return {
        "sid": leg.sid,
        "to": leg.to,
        "from": leg.from_,
        "status": leg.status,
        "state": line_state(leg),
        "heard": list(leg.heard),
        "ended_reason": leg.ended_reason,
    }


def call_view(call: SimulatedCall) -> CallView:
    gather = call.gather
    agent = call.agent
    return {
        "sid": call.sid,
        "from": call.from_,
        "to": call.to,
        "direction": call.direction,
        "parent_call_sid": call.parent.sid if call.parent else None,
        "status": call.status,
        "state": line_state(call),
        "listening_for": sorted(gather.input) if gather is not None else [],
        "with_agent": call.with_agent,
        "agent": leg_view(agent) if agent is not None else None,
        "heard": list(call.heard),
        "events": len(call.events),
        "ended_reason": call.ended_reason,
        "error": call.error,
    }


def _seconds(name: str, default: float) -> float:
    raw = request.args.get(name)
    try:
        value = float(raw) if raw is not None else default
    except ValueError as exc:
        raise ControlError(400, f"{name} must be a number of seconds") from exc
    return max(0.0, min(value, MAX_WAIT_SECONDS))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, pattern: str | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ControlError(400, f"{name} is required")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ControlError(400, f"{name} {value!r} is not valid")
    return value


bp = Blueprint("standin_control", __name__, url_prefix="/sim")

# The control API has no credentials: it is for this machine only. A web page elsewhere could
# still reach it through DNS rebinding (its name made to resolve to 127.0.0.1), but then the
# Host header names that site: only loopback names are answered.
_LOOPBACK_HOST = re.compile(r"^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(?::\d{1,5})?$")


@bp.before_request
def _loopback_host_only() -> None:
    if not _LOOPBACK_HOST.match(request.host):
        raise ControlError(
            403, f"the control API answers loopback names only, not {request.host!r}"
        )


@bp.errorhandler(ControlError)
def _control_error(error: ControlError) -> Response:
    body: dict[str, Any] = {"error": error.message}
    if error.call is not None:
        body["call"] = call_view(error.call)
    response = jsonify(body)
    response.status_code = error.status
    return response


def _call(sid: str) -> SimulatedCall:
    call = get_twilio().call(sid)
    if call is None:
        raise ControlError(404, f"no call {sid}")
    return call


@bp.get("")
def info() -> Response:
    twilio = get_twilio()
    timing = twilio.timing
    return jsonify(
        {
            "stand_in": "twilio",
            "account_sid": twilio.account_sid,
            "public_base_url": twilio.public_base_url,
            "mode": "realtime" if timing.realtime else "step",
            "music_seconds": timing.music_seconds,
            "time_scale": timing.time_scale,
            "app": _probe(get_app_address()),
            "calls": len(twilio.calls()),
        }
    )


@bp.get("/calls")
def list_calls() -> Response:
    calls = sorted(get_twilio().calls(), key=lambda c: c.created_at, reverse=True)
    return jsonify({"calls": [call_view(c) for c in calls[:200]]})


@bp.post("/calls")
def place_call() -> tuple[Response, int]:
    body = _body()
    from_ = _text(body, "from", r"\+[1-9]\d{6,14}|anonymous|[A-Za-z0-9:+@._-]{1,64}")
    to = _text(body, "to", r"\+[1-9]\d{6,14}")
    twilio = get_twilio()
    call = SimulatedCall(twilio=twilio, sid=new_call_sid(), from_=from_, to=to)
    try:
        call.request(twilio.incoming_url, status="ringing")
    except SimulatorError as exc:
        raise ControlError(502, str(exc), call) from exc
    _settle(call)
    return jsonify({"call": call_view(call), "events": _events(call, 0)}), 201


@bp.get("/calls/<sid>")
def get_call(sid: str) -> Response:
    call = _call(sid)
    state = request.args.get("wait_for")
    if state is None:
        return jsonify({"call": call_view(call)})
    if state not in WAIT_STATES:
        raise ControlError(400, f"wait_for must be one of {', '.join(sorted(WAIT_STATES))}")
    reached = call.wait_for(lambda c: _reached(c, state), _seconds("timeout", 30.0))
    if not reached:
        raise ControlError(408, f"the call did not become {state} in time", call)
    return jsonify({"call": call_view(call)})


@bp.get("/calls/<sid>/events")
def events(sid: str) -> Response:
    call = _call(sid)
    try:
        since = max(0, int(request.args.get("since", "0")))
    except ValueError as exc:
        raise ControlError(400, "since must be an event number") from exc
    call.wait_for(lambda c: len(c.events) > since or c.ended, _seconds("wait", 0.0))
    return jsonify(
        {"events": _events(call, since), "next": len(call.events), "call": call_view(call)}
    )


@bp.post("/calls/<sid>/<action>")
def act(sid: str, action: str) -> Response:
    call = _call(sid)
    body = _body()
    _settle(call)
    mark = len(call.events)
    try:
        _caller_acts(call, action, body)
    except SimulatorError as exc:
        raise ControlError(502 if isinstance(exc, AppError) else 409, str(exc), call) from exc
    _settle(call)
    return jsonify({"call": call_view(call), "events": _events(call, mark)})


def _caller_acts(call: SimulatedCall, action: str, body: dict[str, Any]) -> None:
    match action:
        case "say":
            confidence = body.get("confidence", 0.92)
            if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
                raise ControlError(400, "confidence must be between 0 and 1")
            call.say(_text(body, "text"), float(confidence))
        case "press":
            call.press(_text(body, "digits", r"[0-9*#]{1,64}"))
        case "silence":
            call.stay_silent()
        case "hangup":
            call.hang_up()
        case "drop":
            call.drop()
        case _:
            raise ControlError(404, f"no action {action!r}")


@bp.get("/calls/<sid>/agent")
def agent(sid: str) -> Response:
    call = _call(sid)
    if call.agent is None:
        raise ControlError(404, "no agent has been dialled on this call", call)
    return jsonify({"agent": leg_view(call.agent), "legs": [leg_view(x) for x in call.legs]})


@bp.post("/calls/<sid>/agent/hangup")
def agent_hang_up(sid: str) -> Response:
    call = _call(sid)
    mark = len(call.events)
    try:
        call.agent_hang_up()
    except SimulatorError as exc:
        raise ControlError(409, str(exc), call) from exc
    _settle(call)
    return jsonify({"call": call_view(call), "events": _events(call, mark)})


@bp.get("/phones")
def phones() -> Response:
    return jsonify(
        {
            "phones": {
                address: {"answer": b.describe(), "press": b.press}
                for address, b in get_twilio().phones.all().items()
            },
            "default": "answers at once",
        }
    )


@bp.put("/phones/<path:address>")
def set_phone(address: str) -> Response:
    if not _ADDRESS.match(address):
        raise ControlError(
            400, f"{address!r} is not a phone address (+E.164, client:name or sip:uri)"
        )
    body = _body()
    press = body.get("press")
    if press is not None and not isinstance(press, str):
        raise ControlError(400, "press must be a string of keys")
    try:
        behaviour = PhoneBehaviour.parse(str(body.get("answer", "now")), press)
    except PhoneBehaviourError as exc:
        raise ControlError(400, str(exc)) from exc
    get_twilio().phones.set(address, behaviour)
    return jsonify({"address": address, "answer": behaviour.describe(), "press": press})


def _events(call: SimulatedCall, since: int) -> list[dict[str, Any]]:
    return [event.as_dict() for event in call.events_since(since)]


def _probe(app_address: str) -> dict[str, Any]:
    """Whether the app answers HTTP at all (any status will do: it is up)."""
    try:
        response = requests.get(f"{app_address}/healthz", timeout=2)
    except requests.RequestException as exc:
        return {"address": app_address, "reachable": False, "detail": type(exc).__name__}
    return {"address": app_address, "reachable": True, "detail": f"healthz {response.status_code}"}
