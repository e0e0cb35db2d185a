"""The part of Twilio's REST API 2010-04-01 the app uses, served over HTTP so the app's own
twilio-python client moves simulated calls.

    POST /2010-04-01/Accounts/{AccountSid}/Calls.json            place an outbound call
    GET  /2010-04-01/Accounts/{AccountSid}/Calls.json            list calls (To, From, Status)
    GET  /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  a call
    POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  redirect (Url or Twiml) or
                                                                 end it (Status)

HTTP Basic auth with AccountSid:AuthToken, as twilio-python sends it. Errors carry Twilio's
JSON body `{code, message, more_info, status}`: 20003 (401) for wrong credentials or an
account in the path that the credentials do not own, 20404 (404) for an unknown call,
21220 (400) for redirecting a call that has ended. Updates answer at once; the webhooks
they cause run in background threads, as Twilio's do.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from standin import twiml
from standin.call_resource import call_resource, calls_uri
from standin.current import get_twilio
from standin.leg import SimulatedCall
from standin.line import CallNotLive

PAGE_SIZE = 50


class TwilioApiError(Exception):
    def __init__(self, status: int, code: int, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def response(self) -> Response:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        response = jsonify(body)
        response.status_code = self.status
        if self.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response


def _not_found() -> TwilioApiError:
    return TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")


def _invalid(parameter: str, message: str, code: int = 20001) -> TwilioApiError:
    # The stand-in's choice where Twilio's exact code for a malformed parameter is not
    # documented: 400 with a message naming the parameter.
    return TwilioApiError(400, code, f"{parameter}: {message}")


def _absolute_url(name: str) -> str | None:
    value = request.form.get(name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise TwilioApiError(400, 21205, f"{name} is not a valid URL: {value}")
    return value


def _method(name: str) -> str:
    method = request.form.get(name, "POST").upper()
    if method not in {"GET", "POST"}:
        raise _invalid(name, "must be GET or POST")
    return method


bp = Blueprint("twilio_rest", __name__, url_prefix="/2010-04-01")


@bp.errorhandler(TwilioApiError)
def _api_error(error: TwilioApiError) -> Response:
    return error.response()


@bp.before_request
def _authenticate() -> Response | None:
    """Twilio's Calls resource for the stand-in's account only, checked against its
    credentials."""
    twilio = get_twilio()
    auth = request.authorization
    username = (auth.username or "") if auth else ""
    password = (auth.password or "") if auth else ""
    valid = hmac.compare_digest(username, twilio.account_sid) and hmac.compare_digest(
        password, twilio.auth_token
    )
    if not valid:
        return TwilioApiError(
            401, 20003, "Authenticate", "Your AccountSid or AuthToken was incorrect."
        ).response()
    account = (request.view_args or {}).get("account_sid")
    if account is not None and account != twilio.account_sid:
        # Twilio's 20003 covers credentials used for an account they do not own.
        return TwilioApiError(
            401, 20003, "Authenticate", f"These credentials cannot access {account}."
        ).response()
    return None


def _call(call_sid: str) -> SimulatedCall:
    call = get_twilio().call(call_sid)
    if call is None:
        raise _not_found()
    return call


@bp.get("/Accounts/<account_sid>/Calls/<call_sid>.json")
def fetch_call(account_sid: str, call_sid: str) -> Response:
    return jsonify(call_resource(_call(call_sid)))


@bp.post("/Accounts/<account_sid>/Calls/<call_sid>.json")
def update_call(account_sid: str, call_sid: str) -> Response:
    call = _call(call_sid)
    status = request.form.get("Status")
    url = _absolute_url("Url")
    document = request.form.get("Twiml")
    if status is not None:
        if status not in {"completed", "canceled"}:
            raise _invalid("Status", "must be completed or canceled")
        call.complete(status)
    elif url is not None or document is not None:
        if url is not None and document is not None:
            raise _invalid("Twiml", "Url and Twiml cannot both be given")
        _redirect(call, url, document)
    return jsonify(call_resource(call))


def _redirect(call: SimulatedCall, url: str | None, document: str | None) -> None:
    try:
        call.redirect(url, _method("Method"), document)
    except CallNotLive as exc:
        raise TwilioApiError(400, 21220, str(exc)) from exc
    except twiml.TwimlError as exc:
        raise TwilioApiError(400, 12100, f"Twiml: document parse failure: {exc}") from exc


@bp.post("/Accounts/<account_sid>/Calls.json")
def create_call(account_sid: str) -> tuple[Response, int]:
    to = _required("To", 21201, "No 'To' number is specified")
    from_ = _required("From", 21603, "A 'From' phone number is required.")
    url = _absolute_url("Url")
    document = request.form.get("Twiml")
    if (url is None) == (document is None):
        raise TwilioApiError(400, 21205, "Url parameter is required (or Twiml, not both).")
    timeout = _whole_seconds("Timeout", "60")
    events = request.form.getlist("StatusCallbackEvent") or ["completed"]
    try:
        call = get_twilio().create_call(
            to,
            from_,
            url=url,
            document=document,
            method=_method("Method"),
            status_callback=_absolute_url("StatusCallback"),
            status_callback_event=[e for value in events for e in value.split()],
            status_callback_method=_method("StatusCallbackMethod"),
            timeout=max(1, min(timeout, 600)),
            machine_detection=_machine_detection(),
        )
    except twiml.TwimlError as exc:
        raise TwilioApiError(400, 12100, f"Twiml: document parse failure: {exc}") from exc
    # Twilio answers with the call queued: the answer is made before the phone rings.
    created = jsonify(call_resource(call))
    call.ring()
    return created, 201


def _machine_detection() -> str | None:
    value = request.form.get("MachineDetection")
    if value is None:
        return None
    if value not in ("Enable", "DetectMessageEnd"):
        raise _invalid("MachineDetection", "must be Enable or DetectMessageEnd")
    return value


def _required(name: str, code: int, message: str) -> str:
    value = request.form.get(name, "").strip()
    if not value:
        raise TwilioApiError(400, code, message)
    return value


def _whole_seconds(name: str, default: str) -> int:
    try:
        return int(request.form.get(name, default))
    except ValueError as exc:
        raise _invalid(name, "must be a whole number of seconds") from exc


# The filters Twilio's list of calls takes, and what each compares.
_FILTERS: dict[str, Callable[[SimulatedCall], str | None]] = {
    "To": lambda c: c.to,
    "From": lambda c: c.from_,
    "Status": lambda c: c.status,
    "ParentCallSid": lambda c: c.parent.sid if c.parent else None,
}


@bp.get("/Accounts/<account_sid>/Calls.json")
def list_calls(account_sid: str) -> Response:
    wanted = {name: get for name, get in _FILTERS.items() if name in request.args}
    calls = [
        c
        for c in get_twilio().calls()
        if all(get(c) == request.args[name] for name, get in wanted.items())
    ]
    calls.sort(key=lambda c: c.created_at, reverse=True)  # newest first, as Twilio lists
    size = max(1, min(int(request.args.get("PageSize", PAGE_SIZE)), 1000))
    return jsonify(_first_page(calls[:size], size, f"{calls_uri(account_sid)}.json"))


def _first_page(page: list[SimulatedCall], size: int, uri: str) -> dict[str, Any]:
    """One page of calls as Twilio pages them (the stand-in serves the first page only)."""
    return {
        "calls": [call_resource(c) for c in page],
        "start": 0,
        "end": max(len(page) - 1, 0),
        "page": 0,
        "page_size": size,
        "uri": f"{uri}?PageSize={size}&Page=0",
        "first_page_uri": f"{uri}?PageSize={size}&Page=0",
        "next_page_uri": None,
        "previous_page_uri": None,
    }
