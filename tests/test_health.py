"""`GET /healthz` tells which component is up; 503 when a required one is down, `degraded`
(still 200) when only an optional one is."""

from __future__ import annotations

from app import create_app
from app.bootstrap import Services
from app.rest_faults import classify
from app.settings import Settings
from tests.conftest import AUTH_TOKEN, free_port
from tests.test_telephony import REFUSALS


def test_healthy_when_redis_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["twilio"] == {"ok": True, "required": False}
    # The test app's assistant is down: reported, but callers still queue, so still 200.
    assert body["components"]["rasa"] == {"ok": False, "required": False, "breaker": "closed"}
    assert body["status"] == "degraded"


def test_twilio_refusing_the_credentials_shows_degraded_until_a_request_goes_through(
    client, services: Services
) -> None:
    from twilio.base.exceptions import TwilioRestException

    refusal = REFUSALS["401-20003"]["json"]
    fault = classify(
        TwilioRestException(401, "https://api.twilio.com/x", refusal["message"], refusal["code"])
    )
    services.rest_faults.record("redirect", fault)

    body = client.get("/healthz").get_json()
    assert client.get("/healthz").status_code == 200
    assert body["status"] == "degraded"
    assert body["components"]["twilio"] == {
        "ok": False,
        "required": False,
        "state": "credentials refused",
        "code": "20003",
    }
    assert AUTH_TOKEN not in str(body)

    services.rest_faults.succeeded()
    assert client.get("/healthz").get_json()["components"]["twilio"]["ok"] is True


def test_unavailable_when_redis_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app({"SETTINGS": down, "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["components"]["redis"]["ok"] is False
    assert body["components"]["redis"] == {"ok": False, "required": True, "state": "unreachable"}
    # States only: nothing about why or where (an unauthenticated page).
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert "Error" not in response.get_data(as_text=True)
    app.extensions["queue_assistant"].close()
