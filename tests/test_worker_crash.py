"""A real RQ worker process SIGKILLed in the middle of its work (its request to Twilio in
flight), while it puts a waiting caller through and while it places a callback: the caller
is neither lost nor called twice, and the agent is not left reserved.

Twilio is a stand-in on loopback that records every call it is asked to create and holds
the first request open until the worker is dead. Either Twilio had created that call (its
own webhooks then carry the try on: the caller answers and is put through), or it had not
(the offer's lease lapses, the agent is freed, and after the retry pause the next worker
places the call once). The web side runs in-process on the system clock, as the worker
does; the later worker is in-process with its clock moved past the lease and the pause."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask, jsonify, request
from rq import Queue

from app import create_app
from app.bootstrap import Services
from app.dispatch import LEASE_ALLOWANCE_SECONDS, MACHINE_DETECTION_SECONDS
from app.job_queue import DISPATCH_QUEUE
from app.queue_service import AgentState, CallbackRequest, CallState
from app.settings import REPO_ROOT, QueueSettings, Settings
from standin import FlaskClientTransport, SimulatedTwilio, new_call_sid
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    SUPPORT_NUMBER,
    process_environment,
)
from tests.loopback import serving

CALLER = "+14155550101"
WORKER_START_SECONDS = 60


class CreatingTwilio:
    """Twilio's Calls.json: create (the first request held open until released) and list."""

    def __init__(self, *, first_is_created: bool) -> None:
        self.first_is_created = first_is_created
        self.requests: list[dict[str, str]] = []  # every create asked for
        self.created: list[dict[str, Any]] = []  # the calls that exist
        self.updates: list[tuple[str, dict[str, str]]] = []  # live calls moved (redirects)
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        app = Flask(__name__)
        calls = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"

        @app.post(calls)
        def create() -> Any:
            form = request.form.to_dict()
            with self._lock:
                self.requests.append(form)
                first = len(self.requests) == 1
                call = {
                    "sid": new_call_sid(),
                    "to": form["To"],
                    "from": form["From"],
                    "status": "queued",
                    "date_created": format_datetime(datetime.now(UTC), usegmt=True),
                    "url": form["Url"],
                }
                if not first or self.first_is_created:
                    self.created.append(call)
            if first:
                self.first_arrived.set()
                self.release.wait(30)  # the worker is killed meanwhile
            return jsonify(call), 201

        @app.post(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/<sid>.json")
        def update(sid: str) -> Any:
            with self._lock:
                self.updates.append((sid, request.form.to_dict()))
                first = len(self.updates) == 1
            if first:
                self.first_arrived.set()
                self.release.wait(30)
            return jsonify(sid=sid, status="in-progress")

        @app.get(calls)
        def list_calls() -> Any:
            with self._lock:
                found = [
                    c
                    for c in self.created
                    if c["to"] == request.args.get("To", c["to"])
                    and c["from"] == request.args.get("From", c["from"])
                ]
            return jsonify(calls=found, next_page_uri=None, page=0, page_size=50, uri=calls)

        self.app = app


@pytest.fixture
def settings_for(settings: Settings) -> Callable[[str], Settings]:
    return lambda api: settings.model_copy(update={"twilio_api_base_url": api})


def start_worker(redis_url: str, api: str, log: Path) -> subprocess.Popen[bytes]:
    env = process_environment(redis_url, {"TWILIO_API_BASE_URL": api})
    rq = Path(sys.executable).with_name("rq")
    command = [str(rq), "worker", "--url", redis_url, "--worker-class", "app.worker.AppWorker"]
    with log.open("w") as out:
        return subprocess.Popen(
            [*command, "--name", f"crash-{log.parent.name}", DISPATCH_QUEUE],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def crash(
    request: pytest.FixtureRequest,
    redis_client: redis.Redis,
    redis_url: str,
    settings_for: Callable[[str], Settings],
    tmp_path: Path,
) -> Iterator[tuple[CreatingTwilio, Services, Flask, Callable[[float], Services]]]:
    """A callback pending and bob free; a worker process places it and is SIGKILLed with
    its request to Twilio open. Yields Twilio, the web side's services and app (system
    clock) and a maker of later workers' services (clock moved forward)."""
    twilio = CreatingTwilio(first_is_created=request.param)
    opened: list[Flask] = []

    def app_at(offset: float) -> Flask:
        app = create_app(
            {
                "SETTINGS": settings_for(api),
                "CLOCK": lambda: time.time() + offset,
                "TESTING": True,
            }
        )
        opened.append(app)
        return app

    with serving(twilio.app) as api:
        web = app_at(0)
        services: Services = web.extensions["queue_assistant"]
        support = services.config.queue_named("support")
        sid = new_call_sid()
        services.queue.take_slot(support, sid, CALLER)
        assert services.queue.request_callback(support, sid, CALLER)[0] is (
            CallbackRequest.requested
        )
        services.queue.end_call(support, sid)
        services.queue.set_agent_state(support, "bob", AgentState.available, ["en-US"])
        Queue(DISPATCH_QUEUE, connection=redis_client).enqueue("app.jobs.dispatch_queue", "support")
        worker = start_worker(redis_url, api, tmp_path / "worker.log")
        try:
            arrived = twilio.first_arrived.wait(WORKER_START_SECONDS)
            assert arrived, (tmp_path / "worker.log").read_text()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            twilio.release.set()

            def later(offset: float) -> Services:
                services: Services = app_at(offset).extensions["queue_assistant"]
                return services

            yield twilio, services, web, later
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
            twilio.release.set()
            for app in opened:
                app.extensions["queue_assistant"].close()


def callback_lease(queue: QueueSettings) -> float:
    return (
        queue.agent_ring_seconds
        + LEASE_ALLOWANCE_SECONDS
        + queue.callbacks.ring_seconds
        + MACHINE_DETECTION_SECONDS
    )


@pytest.mark.parametrize("crash", [True], indirect=True, ids=["twilio-had-created-it"])
def test_the_call_twilio_created_carries_the_try_on_and_nobody_is_called_twice(
    crash: tuple[CreatingTwilio, Services, Flask, Callable[[float], Services]],
) -> None:
    twilio, services, web, later = crash
    support = services.config.queue_named("support")
    [placed] = twilio.created
    # The caller answers the call the dead worker asked for: its first webhook adopts it.
    caller = SimulatedTwilio(
        FlaskClientTransport(web.test_client()), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID
    )
    try:
        form = {
            "CallSid": placed["sid"],
            "AccountSid": ACCOUNT_SID,
            "From": SUPPORT_NUMBER,
            "To": CALLER,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "AnsweredBy": "human",
        }
        status, document = caller.post(placed["url"], form)
        assert status == 200 and "<Dial" in document, document
        position = services.queue.position(support, placed["sid"])
        assert (position.state, position.agent_id) == (CallState.offered, "bob")
        # Bob answers: the whisper puts them together.
        agent_leg = {
            "CallSid": new_call_sid(),
            "ParentCallSid": placed["sid"],
            "AccountSid": ACCOUNT_SID,
            "From": SUPPORT_NUMBER,
            "To": "+15005550101",
            "CallStatus": "in-progress",
            "Direction": "outbound-dial",
        }
        status, whisper = caller.post("/voice/whisper?agent=bob", agent_leg)
        assert status == 200 and "Callback." in whisper, whisper
    finally:
        caller.close()
    assert services.queue.position(support, placed["sid"]).state is CallState.serving
    assert services.queue.agent(support, "bob").state is AgentState.on_call
    # A later worker, past the lease, finds nothing more to do: one call, ever.
    assert later(callback_lease(support) + 1).dispatcher.dispatch(support) == []
    assert len(twilio.requests) == 1


@pytest.mark.parametrize("crash", [False], indirect=True, ids=["twilio-had-not-created-it"])
def test_a_try_never_created_frees_the_agent_and_is_placed_once_after_the_pause(
    crash: tuple[CreatingTwilio, Services, Flask, Callable[[float], Services]],
) -> None:
    twilio, services, _web, later = crash
    support = services.config.queue_named("support")
    lapsed = callback_lease(support) + 1
    assert services.queue.agent(support, "bob").state is AgentState.offered
    # Past the lease: the agent is free at once (not marked away: not their doing) ...
    next_worker = later(lapsed)
    assert next_worker.queue.agent(support, "bob").state is AgentState.available
    # ... and the callback waits the pause, so nothing it may have made is still ringing.
    assert next_worker.dispatcher.dispatch(support) == []
    assert twilio.created == []
    after_pause = later(lapsed + support.callbacks.retry_after_seconds)
    [offer] = after_pause.dispatcher.dispatch(support)
    assert offer.is_callback and offer.agent_id == "bob"
    assert [c["to"] for c in twilio.created] == [CALLER]
    assert len(twilio.requests) == 2


def test_a_worker_killed_while_moving_a_caller_leaves_neither_caller_nor_agent_stuck(
    redis_client: redis.Redis,
    redis_url: str,
    settings_for: Callable[[str], Settings],
    tmp_path: Path,
) -> None:
    """The redirect never reached Twilio: when the lease lapses the caller is back at the
    front and the agent available (not marked away: they were never rung), and the next
    worker moves the call once."""
    twilio = CreatingTwilio(first_is_created=False)
    with serving(twilio.app) as api:
        web = create_app({"SETTINGS": settings_for(api), "CLOCK": time.time, "TESTING": True})
        services: Services = web.extensions["queue_assistant"]
        support = services.config.queue_named("support")
        caller = new_call_sid()
        services.queue.take_slot(support, caller, CALLER)
        services.queue.set_agent_state(support, "bob", AgentState.available, ["en-US"])
        Queue(DISPATCH_QUEUE, connection=redis_client).enqueue("app.jobs.dispatch_queue", "support")
        worker = start_worker(redis_url, api, tmp_path / "worker.log")
        lapsed = support.agent_ring_seconds + LEASE_ALLOWANCE_SECONDS + 1
        later = create_app(
            {
                "SETTINGS": settings_for(api),
                "CLOCK": lambda: time.time() + lapsed,
                "TESTING": True,
            }
        )
        try:
            assert twilio.first_arrived.wait(WORKER_START_SECONDS), (
                tmp_path / "worker.log"
            ).read_text()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            twilio.release.set()
            assert services.queue.agent(support, "bob").state is AgentState.offered

            next_worker: Services = later.extensions["queue_assistant"]
            assert next_worker.queue.agent(support, "bob").state is AgentState.available
            position = next_worker.queue.position(support, caller)
            assert (position.state, position.people_ahead) == (CallState.waiting, 0)
            [offer] = next_worker.dispatcher.dispatch(support)
            assert (offer.call_sid, offer.agent_id) == (caller, "bob")
            assert [sid for sid, _ in twilio.updates] == [caller, caller]
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
            twilio.release.set()
            web.extensions["queue_assistant"].close()
            later.extensions["queue_assistant"].close()
