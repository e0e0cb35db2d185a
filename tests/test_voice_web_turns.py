"""The voice web process's workers (the Procfile's worker class, one worker here) take the
turns beyond Rasa's slots while the earlier ones wait on Rasa: a turn waiting holds no
worker, so callers beyond the slots hear the keypad menu at once instead of queueing unseen
behind the turns in flight (a sync worker would hold every request behind the first)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from standin import HttpTransport, SimulatedTwilio
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    SUPPORT_NUMBER,
    process_environment,
)
from tests.full_stack import open_all_week
from tests.loopback import answer_json, running
from tests.web_process import voice_web

HELD = "hold this turn"
SLOTS = 4
CALLERS = SLOTS + 2
# Safety nets only (a broken worker class fails the assertions, not these): how long Rasa
# holds a turn unless released, and how long the test waits for the callers beyond the slots.
HOLD_AT_MOST_SECONDS = 30.0
WAIT_AT_MOST_SECONDS = 60.0
KEYPAD_MENU = "Press 1 for billing, 2 for a technical problem"


class HoldingRasa:
    """Answers like the app's channel of Rasa (dialogue/channels.py) at once, except the
    callers' HELD turns, which it holds until released, counting how many it holds at once."""

    def __init__(self) -> None:
        self.held = self.most_held = self.received = 0
        self.release = threading.Event()
        self.changed = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # /status
                answer_json(self, {})

            def do_POST(self) -> None:
                message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if message["message"] == HELD:
                    with owner.changed:
                        owner.received += 1
                        owner.held += 1
                        owner.most_held = max(owner.most_held, owner.held)
                        owner.changed.notify_all()
                    owner.release.wait(HOLD_AT_MOST_SECONDS)
                    with owner.changed:
                        owner.held -= 1
                reply = f"re: {message['message']}"
                answer_json(
                    self,
                    {
                        "messages": [{"recipient_id": message["sender"], "text": reply}],
                        "slots": {},
                        "intent": {"name": "chitchat", "confidence": 0.9},
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def wait_until_holding(self, turns: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.held >= turns, timeout)


@pytest.fixture
def rasa() -> Iterator[HoldingRasa]:
    server = HoldingRasa()
    with running(server.server):
        try:
            yield server
        finally:
            server.release.set()


def _operator_file(directory: Path) -> Path:
    """Open all week, and a 5 s turn budget: Rasa's part 4.9 s, so SLOTS slots at 2.1
    turns/s (floor(2.1 x 4.9 x 0.4) = 4)."""
    path = open_all_week(directory)
    operator = yaml.safe_load(path.read_text(encoding="utf-8"))
    operator["assistant"]["turn_budget_seconds"] = 5
    path.write_text(yaml.safe_dump(operator), encoding="utf-8")
    return path


def test_turns_beyond_the_slots_get_the_keypad_menu_while_others_wait_on_rasa(
    redis_url: str, rasa: HoldingRasa, tmp_path: Path
) -> None:
    env = process_environment(
        redis_url,
        {
            "OPERATOR_FILE": str(_operator_file(tmp_path)),
            "RASA_URL": rasa.url,
            "RASA_TOKEN": "token",
            "RASA_TURNS_PER_SECOND": "2.1",
        },
    )
    with voice_web(env, tmp_path, workers=1) as url:
        twilios = [
            SimulatedTwilio(HttpTransport(url), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)
            for _ in range(CALLERS)
        ]
        try:
            calls = [
                twilio.dial(f"+1415555080{i}", SUPPORT_NUMBER) for i, twilio in enumerate(twilios)
            ]
            heard: dict[int, str] = {}
            done = threading.Semaphore(0)

            def speak(i: int) -> None:
                mark = len(calls[i].heard)
                try:
                    calls[i].say(HELD)
                finally:
                    heard[i] = " ".join(calls[i].heard[mark:])
                    done.release()

            threads = [threading.Thread(target=speak, args=(i,)) for i in range(CALLERS)]
            for thread in threads:
                thread.start()
            # The two beyond the slots are answered while the others are held, every one
            # of those having reached Rasa (its slot is taken just before it is sent).
            for _ in range(CALLERS - SLOTS):
                assert done.acquire(timeout=WAIT_AT_MOST_SECONDS), "turns queued behind Rasa"
            assert rasa.wait_until_holding(SLOTS, WAIT_AT_MOST_SECONDS)
            assert (rasa.received, rasa.most_held) == (SLOTS, SLOTS)
            shed = sorted(heard)
            assert all(KEYPAD_MENU in heard[i] for i in shed), heard
            rasa.release.set()
            for thread in threads:
                thread.join(WAIT_AT_MOST_SECONDS)
            answered = [i for i in range(CALLERS) if i not in shed]
            assert len(answered) == SLOTS
            assert all(f"re: {HELD}" in heard[i] for i in answered), heard
        finally:
            for twilio in twilios:
                twilio.close()
