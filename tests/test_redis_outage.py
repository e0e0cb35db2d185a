"""Redis fails while callers are on the line: Twilio always gets TwiML that keeps the line
(never a JSON 503, which makes Twilio play its application error and drop the caller), the
tries are bounded, and the caller's place is back once Redis is.

Each test runs its own redis-server (append-only file on), so it can pause it
(`CLIENT PAUSE`), kill it and start it again on the same port and data.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from app import create_app, twiml
from app.bootstrap import Services
from app.queue_service import CallState, QueueService
from app.settings import (
    QUEUE_DIR,
    SettingsError,
    load_operator_config,
)
from app.voice_reply import DialNumber, JoinTwilioQueue, Reply, TryAgain
from standin import FlaskClientTransport, SimulatedTwilio, new_call_sid
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    SUPPORT_NUMBER,
    Clock,
)
from tests.own_redis import OwnRedis

pytestmark = pytest.mark.redis

OPERATOR = yaml.safe_load((QUEUE_DIR / "operator.yml").read_text(encoding="utf-8"))
PROMPTS = OPERATOR["languages"]["en-US"]["prompts"]
MAX_ATTEMPTS = OPERATOR["outage"]["max_attempts"]
# The app's Redis timeouts in these tests (2 s in production), so a paused Redis fails fast.
TEST_REDIS_TIMEOUT = 0.25
# A pause that is waited out: long enough for a request to time out inside it.
SHORT_PAUSE_MS = 1000


def operator_file(tmp_path: Path, **outage: object) -> Path:
    data = yaml.safe_load((QUEUE_DIR / "operator.yml").read_text(encoding="utf-8"))
    data["outage"] |= outage
    path = tmp_path / "operator.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def build_app(settings, clock: Clock, own_redis: OwnRedis, operator: Path | None) -> Flask:
    changes: dict[str, object] = {"redis_url": own_redis.url}
    if operator is not None:
        changes["operator_file"] = operator
    app = create_app(
        {"SETTINGS": settings.model_copy(update=changes), "CLOCK": clock, "TESTING": True}
    )
    pool = app.extensions["queue_assistant"].redis.connection_pool
    pool.connection_kwargs |= {
        "socket_timeout": TEST_REDIS_TIMEOUT,
        "socket_connect_timeout": TEST_REDIS_TIMEOUT,
    }
    pool.disconnect()
    return app


@pytest.fixture
def outage_settings() -> dict[str, object]:
    """Changes to the operator's `outage` settings for this test (none by default)."""
    return {}


@pytest.fixture
def app(
    settings, clock: Clock, own_redis: OwnRedis, tmp_path: Path, outage_settings
) -> Iterator[Flask]:
    operator = operator_file(tmp_path, **outage_settings) if outage_settings else None
    app = build_app(settings, clock, own_redis, operator)
    yield app
    app.extensions["queue_assistant"].close()


@pytest.fixture
def services(app: Flask) -> Services:
    return app.extensions["queue_assistant"]


@pytest.fixture
def queue_service(own_redis: OwnRedis, clock: Clock) -> Iterator[QueueService]:
    client = own_redis.control()
    yield QueueService(client, clock=clock)
    client.close()


def signed_post(client: FlaskClient, path: str, params: dict[str, str]):
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def twiml_of(response) -> ET.Element:
    """The response is a whole TwiML document served as XML (what Twilio plays)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    return root


def voice_params(**changes: str) -> dict[str, str]:
    params = {
        "CallSid": new_call_sid(),
        "AccountSid": ACCOUNT_SID,
        "From": "+14155550101",
        "To": SUPPORT_NUMBER,
        "CallStatus": "in-progress",
    }
    return params | changes


def assert_holds_the_line(root: ET.Element, attempt: int) -> None:
    """An apology (on the first try), a short pause, and another try with its number."""
    tags = [child.tag for child in root]
    assert tags[-2:] == ["Pause", "Redirect"], tags
    assert root[-1].text == f"/voice/resume?attempt={attempt}"
    if attempt == 1:
        assert [s.text for s in root.findall("Say")] == [PROMPTS["outage_hold"]]
        assert root.find("Say").get("language") == "en-US"


def waiting_callers(twilio: SimulatedTwilio, count: int) -> list:
    calls = [twilio.dial(f"+141555502{i:02d}", SUPPORT_NUMBER) for i in range(count)]
    for call in calls:
        call.stay_silent()  # into the wait loop
    return calls


# -- the line is kept ----------------------------------------------------------------------


def test_wait_with_redis_killed_answers_twiml_with_an_apology_and_another_try(
    twilio: SimulatedTwilio, client: FlaskClient, own_redis: OwnRedis
) -> None:
    call = waiting_callers(twilio, 2)[1]
    own_redis.kill()
    root = twiml_of(signed_post(client, "/voice/wait", call.base_params()))
    assert_holds_the_line(root, attempt=1)


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/voice/incoming", {"CallStatus": "ringing"}),
        ("/voice/wait", {}),
        ("/voice/turn", {"Digits": "0"}),
        ("/voice/turn", {"SpeechResult": "my bill is wrong", "Confidence": "0.9"}),
        ("/voice/menu", {"Digits": "2"}),
        ("/voice/dial-result?agent=alice", {"DialCallStatus": "no-answer"}),
    ],
)
def test_every_caller_webhook_with_redis_paused_answers_twiml_not_json(
    twilio: SimulatedTwilio,
    client: FlaskClient,
    own_redis: OwnRedis,
    path: str,
    extra: dict[str, str],
) -> None:
    call = waiting_callers(twilio, 1)[0]
    own_redis.pause()
    started = time.monotonic()
    root = twiml_of(signed_post(client, path, call.base_params() | extra))
    assert_holds_the_line(root, attempt=1)
    # Each Redis command is tried twice at most: well inside Twilio's 15 s.
    assert time.monotonic() - started < 6 * TEST_REDIS_TIMEOUT


def test_a_new_call_during_the_outage_is_held_not_refused(
    client: FlaskClient, own_redis: OwnRedis
) -> None:
    own_redis.kill()
    root = twiml_of(signed_post(client, "/voice/incoming", voice_params(CallStatus="ringing")))
    assert_holds_the_line(root, attempt=1)


def test_the_apology_is_repeated_now_and_then_not_at_every_try(
    client: FlaskClient, own_redis: OwnRedis
) -> None:
    own_redis.kill()
    params = voice_params()
    said = []
    for attempt in range(1, MAX_ATTEMPTS):
        root = twiml_of(signed_post(client, f"/voice/resume?attempt={attempt}", params))
        assert_holds_the_line(root, attempt=attempt + 1)
        said.append(bool(root.findall("Say")))
    assert any(said) and not all(said)


def test_status_callback_during_the_outage_is_acknowledged_and_logged(
    twilio: SimulatedTwilio,
    client: FlaskClient,
    own_redis: OwnRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = waiting_callers(twilio, 1)[0]
    own_redis.kill()
    with caplog.at_level(logging.WARNING):
        response = signed_post(client, "/voice/status", call.base_params("completed"))
    assert response.status_code == 204
    assert any(
        call.sid in r.getMessage() and "not recorded" in r.getMessage() for r in caplog.records
    )


def test_an_agents_whisper_during_the_outage_puts_the_caller_through_without_it(
    twilio: SimulatedTwilio, client: FlaskClient, own_redis: OwnRedis
) -> None:
    caller = waiting_callers(twilio, 1)[0]
    own_redis.kill()
    params = voice_params(To="client:alice", From=SUPPORT_NUMBER, ParentCallSid=caller.sid)
    root = twiml_of(signed_post(client, "/voice/whisper?agent=alice", params))
    assert list(root) == []  # the document ends: the bridge completes


def test_unsigned_request_during_the_outage_is_still_refused(
    client: FlaskClient, own_redis: OwnRedis
) -> None:
    own_redis.kill()
    for path in ("/voice/incoming", "/voice/wait", "/voice/status", "/voice/resume?attempt=1"):
        assert client.post(path, data=voice_params()).status_code == 403
        forged = client.post(path, data=voice_params(), headers={"X-Twilio-Signature": "AAAA"})
        assert forged.status_code == 403


def test_the_console_and_health_still_answer_503_json(
    client: FlaskClient, own_redis: OwnRedis
) -> None:
    own_redis.kill()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.is_json


# -- bounded: the end of the tries ---------------------------------------------------------


def test_still_down_after_the_last_try_the_caller_is_told_to_call_again_and_the_call_ends(
    twilio: SimulatedTwilio, own_redis: OwnRedis
) -> None:
    call = waiting_callers(twilio, 1)[0]
    own_redis.kill()
    call.stay_silent()  # the stand-in follows every redirect (no time passes in step mode)
    assert call.ended
    assert call.heard.count(PROMPTS["outage_hold"]) >= 2
    assert call.heard[-2:] == [PROMPTS["outage_call_again"], PROMPTS["goodbye"]]


@pytest.mark.parametrize("outage_settings", [{"fallback_number": "+15005550199"}])
def test_with_a_fallback_number_the_last_try_dials_it(
    client: FlaskClient, own_redis: OwnRedis, outage_settings: dict[str, object]
) -> None:
    own_redis.kill()
    root = twiml_of(signed_post(client, f"/voice/resume?attempt={MAX_ATTEMPTS}", voice_params()))
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root[0].text == PROMPTS["outage_passed_on"]
    assert root[1].text == "+15005550199"


@pytest.mark.parametrize("outage_settings", [{"fallback_queue": "acme-fallback"}])
def test_with_a_fallback_queue_the_last_try_enqueues_there(
    client: FlaskClient, own_redis: OwnRedis, outage_settings: dict[str, object]
) -> None:
    own_redis.kill()
    root = twiml_of(signed_post(client, f"/voice/resume?attempt={MAX_ATTEMPTS}", voice_params()))
    assert [child.tag for child in root] == ["Say", "Enqueue"]
    assert root[1].text == "acme-fallback"


@pytest.mark.parametrize("outage_settings", [{"max_attempts": 3, "retry_pause_seconds": 2}])
def test_the_number_of_tries_and_the_pause_are_the_operators(
    client: FlaskClient, own_redis: OwnRedis, outage_settings: dict[str, object]
) -> None:
    own_redis.kill()
    root = twiml_of(signed_post(client, "/voice/resume?attempt=2", voice_params()))
    assert root.find("Pause").get("length") == "2"
    assert root.find("Redirect").text == "/voice/resume?attempt=3"
    root = twiml_of(signed_post(client, "/voice/resume?attempt=3", voice_params()))
    assert root[-1].tag == "Hangup"


@pytest.mark.parametrize("attempt", ["", "0", f"{MAX_ATTEMPTS + 1}", "x", "-1", "1000"])
def test_a_try_number_missing_or_out_of_range_is_refused(client: FlaskClient, attempt: str) -> None:
    path = "/voice/resume" + (f"?attempt={attempt}" if attempt else "")
    response = signed_post(client, path, voice_params())
    assert response.status_code == 400 and "attempt" in response.get_data(as_text=True)


# -- the place is back ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["killed", "paused"])
def test_once_redis_is_back_the_callers_try_restores_the_same_place(
    twilio: SimulatedTwilio,
    client: FlaskClient,
    own_redis: OwnRedis,
    queue_service: QueueService,
    support,
    how: str,
) -> None:
    calls = waiting_callers(twilio, 3)
    call = calls[2]
    before = queue_service.position(support, call.sid)
    assert before.people_ahead == 2
    if how == "killed":
        own_redis.kill()
    else:
        own_redis.pause(SHORT_PAUSE_MS)
    root = twiml_of(signed_post(client, "/voice/wait", call.base_params()))
    retry = root.find("Redirect").text
    if how == "killed":
        own_redis.start()  # the same data, from the append-only file
    else:
        own_redis.wait_out_pause()
    status, body = twilio.post(retry, call.base_params())
    assert status == 200
    root = ET.fromstring(body)
    said = [s.text for s in root.iter("Say")]
    assert said[:2] == [PROMPTS["outage_resumed"], "There are 2 people ahead of you."]
    assert root.find("Gather").get("action") == "/voice/turn"  # back in the wait loop
    assert root[-1].tag == "Redirect" and root[-1].text == "/voice/wait"
    after = queue_service.position(support, call.sid)
    assert (after.state, after.ticket, after.people_ahead) == (
        CallState.waiting,
        before.ticket,
        2,
    )
    assert queue_service.snapshot(support).line_length == 3


def test_a_caller_whose_place_redis_lost_is_given_a_new_one(
    twilio: SimulatedTwilio,
    client: FlaskClient,
    own_redis: OwnRedis,
    queue_service: QueueService,
    support,
) -> None:
    call = waiting_callers(twilio, 2)[1]
    own_redis.kill()
    root = twiml_of(signed_post(client, "/voice/wait", call.base_params()))
    own_redis.wipe()
    own_redis.start()
    status, body = twilio.post(root.find("Redirect").text, call.base_params())
    assert status == 200
    said = " ".join(s.text or "" for s in ET.fromstring(body).iter("Say"))
    assert "place in the queue is guaranteed" in said
    assert "You're next in line." in said
    assert queue_service.position(support, call.sid).state is CallState.waiting


def test_a_call_that_arrived_during_the_outage_is_greeted_once_redis_is_back(
    twilio: SimulatedTwilio, own_redis: OwnRedis, queue_service: QueueService, support
) -> None:
    own_redis.pause(SHORT_PAUSE_MS)
    sid = new_call_sid()
    params = voice_params(CallSid=sid, CallStatus="ringing")
    status, body = twilio.post("/voice/incoming", params)
    assert status == 200 and "<Redirect>" in body
    own_redis.wait_out_pause()
    status, body = twilio.post(ET.fromstring(body).find("Redirect").text, params)
    assert status == 200 and "place in the queue is guaranteed" in body
    assert queue_service.position(support, sid).state is CallState.waiting
    assert queue_service.snapshot(support).line_length == 1


def test_a_caller_held_through_the_outage_by_the_stand_in_carries_on_waiting(
    settings, clock: Clock, own_redis: OwnRedis, queue_service: QueueService, support, tmp_path
) -> None:
    """End to end through the stand-in: Redis is down for a few tries, then back; the caller
    never leaves the line and keeps their ticket."""
    app = build_app(settings, clock, own_redis, None)
    twilio = SimulatedTwilio(
        FlaskClientTransport(app.test_client()), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID
    )
    try:
        call = waiting_callers(twilio, 2)[1]
        ticket = queue_service.position(support, call.sid).ticket
        own_redis.kill()
        real_request = twilio.transport.post
        tries: list[str] = []

        def post(path, form, headers):
            tries.append(path)
            if len(tries) == 3:
                own_redis.start()  # back before the third try
            return real_request(path, form, headers)

        twilio.transport.post = post  # type: ignore[method-assign]
        call.stay_silent()
        assert not call.ended
        assert call.gather is not None  # listening in the wait loop again
        assert tries[:3] == ["/voice/wait", "/voice/resume?attempt=1", "/voice/resume?attempt=2"]
        assert PROMPTS["outage_hold"] in call.heard
        assert PROMPTS["outage_resumed"] in call.heard
        assert queue_service.position(support, call.sid).ticket == ticket
    finally:
        app.extensions["queue_assistant"].close()


# -- settings and rendering ----------------------------------------------------------------


def test_only_one_fallback_may_be_configured(tmp_path: Path) -> None:
    path = operator_file(tmp_path, fallback_number="+15005550199", fallback_queue="q")
    with pytest.raises(SettingsError, match="not both"):
        load_operator_config(path, QUEUE_DIR / "queues.yml")


def test_a_fallback_number_must_be_e164(tmp_path: Path) -> None:
    path = operator_file(tmp_path, fallback_number="555-0199")
    with pytest.raises(SettingsError, match=r"outage\.fallback_number"):
        load_operator_config(path, QUEUE_DIR / "queues.yml")


def test_the_outage_steps_render_as_twiml() -> None:
    root = ET.fromstring(
        twiml.render(Reply((TryAgain(4), DialNumber("+15005550199"), JoinTwilioQueue("q"))))
    )
    assert [(child.tag, child.text) for child in root] == [
        ("Redirect", "/voice/resume?attempt=4"),
        ("Dial", "+15005550199"),
        ("Enqueue", "q"),
    ]
