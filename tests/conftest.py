"""Fixtures: a real redis-server for the session, the app built from its factory with a
test configuration, a movable clock, and a simulated Twilio that signs like the real one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import responses
from flask import Flask

from app import create_app
from app.bootstrap import Services
from app.queue_service import QueueService
from app.settings import (
    QUEUE_DIR,
    AppEnv,
    OperatorConfig,
    QueueSettings,
    Settings,
    load_operator_config,
)
from standin import FlaskClientTransport, HttpTransport, SimulatedTwilio
from tests.loopback import free_port, serving
from tests.own_redis import OwnRedis
from tests.rasa_stack import RASA_TOKEN, RasaStack

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "1" * 32
PUBLIC_BASE_URL = "https://voice.example.test"
SUPPORT_NUMBER = "+15005550006"
# Wednesday 25 November 2026, 10:00 in New York: the centre is open.
OPEN_TIME = datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp()


# Markers by what a test needs (registered in pyproject.toml), so the fast loop is
# `scripts/test -m "not rasa and not browser"`: a test that uses one of these fixtures gets
# its marker without having to say so.
_MARKER_OF_FIXTURE = {
    "redis_url": "redis",
    "cluster": "cluster",
    "rasa_stack": "rasa",
    "browser": "browser",
    "prism_url": "contract",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in _MARKER_OF_FIXTURE:
                item.add_marker(_MARKER_OF_FIXTURE[fixture])


def process_environment(redis_url: str, more: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an app process a test starts (gunicorn, an RQ worker): development,
    the tests' Twilio identity, this Redis; `more` on top."""
    return (
        os.environ
        | {
            "APP_ENV": "development",
            "REDIS_URL": redis_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
        | (more or {})
    )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = OwnRedis(tmp_path_factory.mktemp("redis"), persistent=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.close()


class Clock:
    """A clock the tests move by hand; never sleeps."""

    def __init__(self, start: float = OPEN_TIME) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(
        _env_file=None,
        app_env=AppEnv.development,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        redis_url=redis_url,
        # Nothing listens here: tests that need the assistant start a real Rasa and say so.
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="test-rasa-token",
    )


@pytest.fixture
def app(settings: Settings, clock: Clock, redis_client: redis.Redis) -> Iterator[Flask]:
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    yield app
    # The app's Redis pool and HTTP sessions: left to the garbage collector, their sockets
    # are reported unclosed at exit, which fails the run.
    app.extensions["queue_assistant"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def twilio(client) -> SimulatedTwilio:
    return SimulatedTwilio(FlaskClientTransport(client), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)


@pytest.fixture(scope="session")
def operator_config() -> OperatorConfig:
    return load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")


@pytest.fixture
def support(operator_config: OperatorConfig) -> QueueSettings:
    return operator_config.queue_named("support")


@pytest.fixture
def queue_service(redis_client: redis.Redis, clock: Clock) -> QueueService:
    return QueueService(redis_client, clock=clock)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app behind a real threaded HTTP server on loopback."""
    with serving(app) as url:
        yield url


@pytest.fixture
def live_twilio(live_server: str) -> Iterator[SimulatedTwilio]:
    twilio = SimulatedTwilio(HttpTransport(live_server), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)
    yield twilio
    twilio.close()


@pytest.fixture(scope="session")
def rasa_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """The real dialogue: Rasa with the project's trained model and its action server."""
    stack = RasaStack(redis_url, free_port(), free_port(), tmp_path_factory.mktemp("rasa"))
    try:
        stack.start()
    except RuntimeError as exc:
        stack.stop()
        pytest.fail(str(exc))
    yield stack
    stack.stop()


@pytest.fixture
def rasa_app(settings: Settings, clock: Clock, rasa_stack: RasaStack, redis_client: redis.Redis):
    """The app talking to the real Rasa."""
    with_rasa = settings.model_copy(update={"rasa_url": rasa_stack.url, "rasa_token": RASA_TOKEN})
    app = create_app({"SETTINGS": with_rasa, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["queue_assistant"].close()


@pytest.fixture
def rasa_twilio(rasa_app) -> SimulatedTwilio:
    transport = FlaskClientTransport(rasa_app.test_client())
    return SimulatedTwilio(transport, PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)


# Twilio's REST API, mocked with `responses` (Twilio itself is outside this machine).
CALLS_URL = re.compile(
    rf"https://api\.twilio\.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/(CA[0-9a-f]{{32}})\.json"
)


@pytest.fixture
def services(app) -> Services:
    return app.extensions["queue_assistant"]


@pytest.fixture
def twilio_rest() -> Iterator[responses.RequestsMock]:
    """Twilio's REST API: every call update succeeds, as for a live call."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rest:
        rest.post(CALLS_URL, json={"sid": "CA" + "0" * 32, "status": "in-progress"})
        yield rest


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server of the test's own (tests/own_redis.py), stopped afterwards."""
    data = tmp_path / "redis"
    data.mkdir()
    server = OwnRedis(data)
    server.start()
    try:
        yield server
    finally:
        server.stop()
