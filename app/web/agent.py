"""The agent console: sign in, go available or away, the screen pop of the caller being put
through, and the wrap-up. Thin views over `app.agent_desk`; every change is a POST carrying
the session's CSRF token; an agent sees only calls offered to them (403 otherwise)."""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from app.agent_desk import NotYourCall, WrapUpRefused
from app.agent_sessions import AgentSessions, Lockout, client_of
from app.agents import PasswordChecksBusy
from app.bootstrap import get_services
from app.queue_service import AgentState, AgentStatus

bp = Blueprint(
    "agent",
    __name__,
    url_prefix="/agent",
    template_folder="templates",
    static_folder="static",
)

# Form fields longer than this are refused before anything else looks at them.
_MAX_ID_CHARS = 64
_MAX_PASSWORD_CHARS = 256
# A sign-in refused because passwords are being checked already is told to come back in
# this many seconds (a check takes about 0.1 s).
_BUSY_RETRY_AFTER_SECONDS = 2


def _sessions() -> AgentSessions:
    return get_services().agent_sessions


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Views for signed-in agents: `g.agent` and `g.agent_session` are set; POSTs must
    carry the session's CSRF token. An expired session is sent to sign in again (401 for
    the page's own script)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        agent_session = _sessions().resume(session.get("token"))
        agent = get_services().agents.get(agent_session.agent_id) if agent_session else None
        if agent_session is None or agent is None:
            session.pop("token", None)
            if _wants_json():
                return jsonify(error="signed out", sign_in=url_for("agent.sign_in")), 401
            return redirect(url_for("agent.sign_in", next=request.path))
        if request.method == "POST":
            offered = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
            if not agent_session.csrf_ok(offered):
                abort(400, "This form has expired. Reload the page and try again.")
        g.agent, g.agent_session = agent, agent_session
        return view(*args, **kwargs)

    return wrapper


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.endswith(".json")


@bp.get("/sign-in")
def sign_in() -> str:
    session["sign_in_csrf"] = session.get("sign_in_csrf") or secrets.token_urlsafe(32)
    return render_template("agent/sign_in.html", csrf_token=session["sign_in_csrf"], error=None)


@bp.post("/sign-in")
def sign_in_post() -> Any:
    expected = session.get("sign_in_csrf")
    if not expected or not secrets.compare_digest(expected, request.form.get("csrf_token", "")):
        abort(400, "This form has expired. Reload the page and try again.")
    agent_id = request.form.get("agent_id", "").strip().lower()[:_MAX_ID_CHARS]
    password = request.form.get("password", "")[:_MAX_PASSWORD_CHARS]
    sessions = _sessions()
    # The connection's peer: X-Forwarded-For is the client's to write, so it is not read.
    client = client_of(request.remote_addr)
    lockout = sessions.lockout(client, agent_id)
    if lockout is not None:
        page = render_template(
            "agent/sign_in.html", csrf_token=expected, error=_lockout_message(lockout)
        )
        return page, 429, {"Retry-After": str(math.ceil(lockout.seconds_left))}
    services = get_services()
    try:
        agent = services.agents.authenticate(
            agent_id,
            password,
            at_once=services.config.operator.agent_console.password_checks_at_once,
        )
    except PasswordChecksBusy:
        # Neither right nor wrong: not counted. Callers' webhooks keep the cores meanwhile.
        error = "Many sign-ins are under way. Wait a few seconds and sign in again."
        page = render_template("agent/sign_in.html", csrf_token=expected, error=error)
        return page, 503, {"Retry-After": str(_BUSY_RETRY_AFTER_SECONDS)}
    if agent is None:
        sessions.note_failure(client, agent_id)
        error = "That agent id and password do not match."
        return render_template("agent/sign_in.html", csrf_token=expected, error=error), 401
    session.clear()
    session["token"] = sessions.start(client, agent.id).token
    return redirect(url_for("agent.console"))


def _lockout_message(lockout: Lockout) -> str:
    minutes = lockout.minutes_left
    wait = f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
    if lockout.everywhere:
        return (
            "Too many failed sign-ins for this agent id from many places. "
            f"Try again in {wait} and tell a supervisor."
        )
    return f"Too many failed sign-ins from here. Try again in {wait} or ask a supervisor."


@bp.post("/sign-out")
@signed_in
def sign_out() -> ResponseReturnValue:
    desk = get_services().agent_desk
    desk.set_state(g.agent, AgentState.away)
    _sessions().end(g.agent_session.token)
    session.clear()
    return redirect(url_for("agent.sign_in"))


@bp.get("/")
@signed_in
def console() -> str:
    desk = get_services().agent_desk
    return render_template(
        "agent/console.html",
        agent=g.agent,
        status=desk.status(g.agent),
        dispositions=desk.dispositions,
        csrf_token=g.agent_session.csrf_token,
    )


@bp.get("/state.json")
@signed_in
def state() -> Response:
    return jsonify(_status_json(get_services().agent_desk.status(g.agent)))


@bp.post("/state")
@signed_in
def change_state() -> Any:
    wanted = request.form.get("state", "")
    if wanted not in (AgentState.available, AgentState.away):
        return jsonify(error="state must be available or away"), 400
    desk = get_services().agent_desk
    status = desk.set_state(g.agent, AgentState(wanted))
    if status is None:
        return jsonify(
            error="finish the current call first", **_status_json(desk.status(g.agent))
        ), 409
    return jsonify(_status_json(status))


@bp.get("/calls/<call_sid>")
@signed_in
def call(call_sid: str) -> str:
    desk = get_services().agent_desk
    try:
        pop = desk.screen_pop(g.agent, call_sid)
    except NotYourCall:
        abort(403, "This call was not offered to you.")
    template = "agent/call_card.html" if request.args.get("part") else "agent/call_page.html"
    return render_template(
        template,
        agent=g.agent,
        pop=pop,
        status=desk.status(g.agent),
        dispositions=desk.dispositions,
        csrf_token=g.agent_session.csrf_token,
        error=None,
    )


@bp.post("/calls/<call_sid>/wrap-up")
@signed_in
def wrap_up(call_sid: str) -> Any:
    desk = get_services().agent_desk
    then = request.form.get("then", AgentState.available)
    try:
        desk.wrap_up(
            g.agent,
            call_sid,
            request.form.get("disposition", ""),
            request.form.get("notes", ""),
            AgentState(then)
            if then in (AgentState.available, AgentState.away)
            else AgentState.away,
        )
    except NotYourCall:
        abort(403, "This call was not offered to you.")
    except WrapUpRefused as refused:
        pop = desk.screen_pop(g.agent, call_sid)
        return render_template(
            "agent/call_page.html",
            agent=g.agent,
            pop=pop,
            status=desk.status(g.agent),
            dispositions=desk.dispositions,
            csrf_token=g.agent_session.csrf_token,
            error=str(refused),
        ), 400
    return redirect(url_for("agent.console"))


@bp.after_request
def security_headers(response: Response) -> Response:
    """The console (and the operator page) show callers' words: no inline script may run,
    no other site may frame them, nothing is cached."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.app_template_filter("clock")
def _clock_filter(epoch: float | None) -> str:
    """A moment in the contact centre's own time zone."""
    if epoch is None:
        return ""
    zone = ZoneInfo(get_services().config.operator.timezone)
    return datetime.fromtimestamp(epoch, tz=zone).strftime("%a %d %b %Y, %H:%M %Z")


@bp.app_template_filter("minutes")
def _minutes_filter(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _status_json(status: AgentStatus) -> dict[str, Any]:
    return {
        "state": status.state.value,
        "since": status.since,
        "call_sid": status.call_sid,
        "call_url": url_for("agent.call", call_sid=status.call_sid) if status.call_sid else None,
    }
