"""The agent console through HTTP: sign-in, CSRF, state changes, the screen pop (only for the
agent the call was offered to), the wrap-up and the contact history it feeds."""

from __future__ import annotations

import re

import pytest
import responses
from flask.testing import FlaskClient

from app.bootstrap import Services
from app.queue_service import AgentState
from app.settings import QueueSettings
from standin import SimulatedCall, SimulatedTwilio
from tests.conftest import AUTH_TOKEN, CALLS_URL, SUPPORT_NUMBER, Clock
from tests.test_handoff import agent_leg, redirected_to

PASSWORDS = {
    "alice": "alice-demo-password",
    "bob": "bob-demo-password",
    "carol": "carol-demo-password",
    "somchai": "somchai-demo-password",
}


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client: FlaskClient, agent_id: str, password: str | None = None):
    page = client.get("/agent/sign-in").get_data(as_text=True)
    return client.post(
        "/agent/sign-in",
        data={
            "csrf_token": csrf_in(page),
            "agent_id": agent_id,
            "password": password or PASSWORDS[agent_id],
        },
    )


class Console:
    """One agent's browser: its own cookie jar."""

    def __init__(self, app, agent_id: str) -> None:
        self.client = app.test_client()
        self.agent_id = agent_id
        assert sign_in(self.client, agent_id).status_code == 302
        self.csrf = csrf_in(self.client.get("/agent/").get_data(as_text=True))

    def set_state(self, state: str):
        return self.client.post(
            "/agent/state",
            data={"state": state},
            headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
        )

    def state(self) -> dict:
        return self.client.get("/agent/state.json").get_json()


def put_through(
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    rest: responses.RequestsMock,
    call: SimulatedCall,
    agent_id: str,
) -> None:
    """The worker dispatches, Twilio runs the connect document and the agent answers."""
    services.dispatcher.dispatch(support)
    twilio.post(redirected_to(rest)[call.sid], call.base_params())
    twilio.post(f"/voice/whisper?agent={agent_id}", agent_leg(call, f"client:{agent_id}"))


def test_sign_in_refuses_wrong_passwords_and_locks_out_guessing(app) -> None:
    client = app.test_client()
    assert client.get("/agent/").status_code == 302  # to the sign-in page
    wrong = sign_in(client, "alice", "guess")
    assert wrong.status_code == 401
    assert "do not match" in wrong.get_data(as_text=True)
    assert sign_in(client, "nobody", "guess").status_code == 401
    for _ in range(4):
        sign_in(client, "alice", "guess")
    locked = sign_in(client, "alice")  # even the right password, for a while
    assert locked.status_code == 429
    assert sign_in(app.test_client(), "bob").status_code == 302


def test_sign_in_needs_the_form_token(app) -> None:
    client = app.test_client()
    client.get("/agent/sign-in")
    response = client.post(
        "/agent/sign-in", data={"agent_id": "alice", "password": PASSWORDS["alice"]}
    )
    assert response.status_code == 400


def test_changes_need_the_session_csrf_token(app, services: Services, support) -> None:
    console = Console(app, "alice")
    refused = console.client.post(
        "/agent/state", data={"state": "available"}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 400
    assert services.queue.agent(support, "alice").state is AgentState.away
    assert console.set_state("available").get_json()["state"] == "available"
    assert services.queue.agent(support, "alice").state is AgentState.available
    assert console.set_state("dancing").status_code == 400


def test_going_available_dispatches_and_the_console_pops_the_caller(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.say("my bill is wrong")  # the assistant is down in this test: keypad menu
    call.press("1")
    console = Console(app, "alice")
    jobs_before = services.jobs.rq_queue.count
    console.set_state("available")
    assert services.jobs.rq_queue.count == jobs_before + 1
    services.dispatcher.dispatch(support)  # what the worker's job does

    state = console.state()
    assert (state["state"], state["call_sid"]) == ("offered", call.sid)
    card = console.client.get(state["call_url"] + "?part=1")
    html = card.get_data(as_text=True)
    assert card.status_code == 200
    assert "Unverified caller" in html
    assert 'data-reason="billing">A billing question (keypad menu)' in html
    assert "my bill is wrong" in html
    assert "Wrap-up" not in html  # not before the agent has answered


def test_what_was_said_on_a_dropped_call_is_shown_as_not_verified_after_a_call_back(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    """A place is restored by caller ID, which can be spoofed: the earlier call's words come
    along for the agent, marked as not verified to be this caller."""
    first = twilio.dial("+14155550101", SUPPORT_NUMBER)
    first.say("my bill is wrong")
    first.drop()
    back = twilio.dial("+14155550101", SUPPORT_NUMBER)
    (carried,) = services.calls.transcript(back.sid)
    assert (carried.text, carried.from_dropped_call) == ("my bill is wrong", True)
    back.say("it is about the late fee")
    assert services.calls.transcript(back.sid)[-1].from_dropped_call is False
    console = Console(app, "alice")
    console.set_state("available")
    services.dispatcher.dispatch(support)
    html = console.client.get(console.state()["call_url"] + "?part=1").get_data(as_text=True)
    assert "dropped call from this number: not verified" in html
    assert html.count("not verified to be this caller") == 1  # the new words are not marked


def test_an_agent_sees_only_calls_offered_to_them(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    alice, bob = Console(app, "alice"), Console(app, "bob")
    alice.set_state("available")
    services.dispatcher.dispatch(support)
    assert alice.client.get(f"/agent/calls/{call.sid}").status_code == 200
    assert bob.client.get(f"/agent/calls/{call.sid}").status_code == 403
    assert bob.client.get("/agent/calls/CA" + "f" * 32).status_code == 403
    refused = bob.client.post(
        f"/agent/calls/{call.sid}/wrap-up",
        data={"csrf_token": bob.csrf, "disposition": "resolved", "then": "available"},
    )
    assert refused.status_code == 403


def test_the_wrap_up_feeds_the_history_shown_on_the_next_call(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    first = twilio.dial("+14155550101", SUPPORT_NUMBER)
    alice = Console(app, "alice")
    alice.set_state("available")
    put_through(twilio, services, support, twilio_rest, first, "alice")
    assert alice.state()["state"] == "on_call"
    assert alice.set_state("away").status_code == 409  # not in the middle of a call
    clock.advance(240)
    first.hang_up()
    assert alice.state()["state"] == "wrap_up"
    assert alice.set_state("available").status_code == 409  # the wrap-up comes first

    page = alice.client.get(f"/agent/calls/{first.sid}").get_data(as_text=True)
    assert "Wrap-up" in page
    bad = alice.client.post(
        f"/agent/calls/{first.sid}/wrap-up",
        data={"csrf_token": alice.csrf, "disposition": "made_up", "then": "available"},
    )
    assert bad.status_code == 400
    assert "choose one of" in bad.get_data(as_text=True)
    saved = alice.client.post(
        f"/agent/calls/{first.sid}/wrap-up",
        data={
            "csrf_token": alice.csrf,
            "disposition": "follow_up_needed",
            "notes": "Refund of $12 promised <b>by Friday</b>.",
            "then": "available",
        },
    )
    assert saved.status_code == 302
    assert alice.state()["state"] == "available"

    clock.advance(3600)
    second = twilio.dial("+14155550101", SUPPORT_NUMBER)
    put_through(twilio, services, support, twilio_rest, second, "alice")
    html = alice.client.get(f"/agent/calls/{second.sid}?part=1").get_data(as_text=True)
    history = html[html.index('id="history"') :]
    assert "follow up needed" in history
    # The agent's words are shown as text, never as markup.
    assert "Refund of $12 promised &lt;b&gt;by Friday&lt;/b&gt;." in history
    assert "answered" in history


def test_sessions_end_at_sign_out_and_after_the_hard_limit(
    app, services: Services, clock: Clock, support
) -> None:
    console = Console(app, "alice")
    console.set_state("available")
    response = console.client.post("/agent/sign-out", data={"csrf_token": console.csrf})
    assert response.status_code == 302
    assert console.client.get("/agent/state.json").status_code == 401
    assert services.queue.agent(support, "alice").state is AgentState.away

    again = Console(app, "alice")
    clock.advance(services.config.operator.agent_console.session_max_hours * 3600 + 1)
    expired = again.client.get("/agent/")
    assert expired.status_code == 302 and "/agent/sign-in" in expired.location


def test_console_pages_forbid_framing_and_inline_script(app) -> None:
    carol = Console(app, "carol")  # a supervisor: the operator page is hers too
    for page in (
        app.test_client().get("/agent/sign-in"),
        carol.client.get("/operator/"),
        carol.client.get("/operator/queues.json"),
    ):
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["Cache-Control"] == "no-store"


def test_the_operator_page_is_for_supervisors_and_measures_announced_waits(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    twilio.dial("+14155550102", SUPPORT_NUMBER)
    record = services.calls.get(call.sid)
    services.calls.save(record.model_copy(update={"first_announced_wait": 300.0}))
    alice = Console(app, "alice")
    alice.set_state("available")
    clock.advance(420)  # answered two minutes later than announced
    put_through(twilio, services, support, twilio_rest, call, "alice")

    assert alice.client.get("/operator/").status_code == 403
    carol = Console(app, "carol")  # a supervisor
    page = carol.client.get("/operator/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Queue support" in html
    assert "1 callers: off by 2 min 00 s on average" in html
    queues = carol.client.get("/operator/queues.json").get_json()["queues"]
    assert [q["name"] for q in queues] == ["support", "regional"]
    overview = queues[0]
    assert (overview["line_length"], overview["waiting"], overview["serving"]) == (1, 1, 1)
    assert {a["id"]: a["state"] for a in overview["agents"]} == {
        "alice": "on_call",
        "bob": "away",
        "carol": "away",
    }
    assert overview["accuracy"]["mean_error"] == pytest.approx(120)


def test_oversized_wrap_up_notes_are_refused_and_nothing_is_saved(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    alice = Console(app, "alice")
    alice.set_state("available")
    put_through(twilio, services, support, twilio_rest, call, "alice")
    call.hang_up()
    form = {"csrf_token": alice.csrf, "disposition": "resolved", "then": "available"}
    too_long = alice.client.post(
        f"/agent/calls/{call.sid}/wrap-up", data=form | {"notes": "x" * 2001}
    )
    assert too_long.status_code == 400
    assert "limited to 2000 characters" in too_long.get_data(as_text=True)
    huge = alice.client.post(
        f"/agent/calls/{call.sid}/wrap-up", data=form | {"notes": "x" * 70_000}
    )
    assert huge.status_code == 413
    assert services.history.contact(call.sid).wrap_up is None
    assert alice.state()["state"] == "wrap_up"


def test_the_operator_page_shows_each_language_line_and_who_speaks_it(
    app, twilio: SimulatedTwilio, services: Services
) -> None:
    regional = "+6621234567"
    choosing = twilio.dial("+66812345678", regional)  # hears the language menu
    thai = twilio.dial("+66812345679", regional)
    thai.press("1")  # Thai, the regional line's first language
    somchai = Console(app, "somchai")
    somchai.set_state("available")

    carol = Console(app, "carol")
    queues = carol.client.get("/operator/queues.json").get_json()["queues"]
    overview = next(q for q in queues if q["name"] == "regional")
    assert overview["undecided"] == 1
    lines = {line["language"]: line for line in overview["languages"]}
    # The caller still choosing counts ahead in every language; only Thai has a caller.
    assert (lines["th-TH"]["line_length"], lines["th-TH"]["waiting"]) == (2, 1)
    assert (lines["id-ID"]["line_length"], lines["id-ID"]["waiting"]) == (1, 0)
    # Somchai speaks Thai and Lao (and English), nobody signed in speaks Indonesian.
    assert lines["th-TH"]["agents_working"] == lines["lo-LA"]["agents_working"] == 1
    assert lines["id-ID"]["agents_working"] == 0
    agents = {a["id"]: a["languages"] for a in overview["agents"]}
    assert agents["somchai"] == ["th-TH", "lo-LA", "en-US"]
    html = carol.client.get("/operator/").get_data(as_text=True)
    assert 'id="language-regional-th-TH"' in html and "1 still choosing" in html
    assert choosing.sid != thai.sid


def test_the_operator_page_counts_twilio_faults_and_says_when_credentials_are_refused(
    app, twilio: SimulatedTwilio, services: Services, support: QueueSettings
) -> None:
    twilio.dial("+14155550101", SUPPORT_NUMBER)
    Console(app, "alice").set_state("available")
    carol = Console(app, "carol")
    assert "No failed requests." in carol.client.get("/operator/").get_data(as_text=True)

    with responses.RequestsMock() as rest:
        rest.post(CALLS_URL, status=401, json={"code": 20003, "message": "Authenticate"})
        services.dispatcher.dispatch(support)
        services.dispatcher.dispatch(support)

    html = carol.client.get("/operator/").get_data(as_text=True)
    assert "Twilio refuses the account's credentials (code 20003)" in html
    assert "refused, not retried" in html
    assert AUTH_TOKEN not in html
    overview = carol.client.get("/operator/queues.json").get_json()
    faults = [(f["operation"], f["kind"], f["code"], f["count"]) for f in overview["rest_faults"]]
    assert faults == [("redirect", "permanent", "20003", 2)]
    assert overview["credentials_refused"]["code"] == "20003"


def test_the_screen_pop_speaks_the_agents_words_not_the_dialogues_codes(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    record = services.calls.get(call.sid)
    services.calls.save(
        record.model_copy(
            update={
                "reason": "technical",
                "dialogue": {"outage_status": "known_outage", "resolved": True},
            }
        )
    )
    alice = Console(app, "alice")
    alice.set_state("available")
    put_through(twilio, services, support, twilio_rest, call, "alice")
    html = alice.client.get(f"/agent/calls/{call.sid}?part=1").get_data(as_text=True)
    assert 'data-reason="technical">A technical problem' in html
    assert "Known outage in the caller&#39;s area" in html
    assert "<dt>Resolved by the assistant</dt><dd>yes</dd>" in html
    for code in ("known_outage", ">True<", ">technical<"):
        assert code not in html
