"""`GET /healthz` tells which component is up; 503 when a required one is down."""

from __future__ import annotations

from app import create_app
from app.settings import Settings
from tests.conftest import free_port


def test_healthy_when_redis_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["components"]["redis"]["ok"] is True
    # The test app's assistant is down: reported, but callers still queue, so still 200.
    assert body["components"]["rasa"] == {"ok": False, "required": False, "breaker": "closed"}


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
