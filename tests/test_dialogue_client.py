"""The Rasa client's failure handling, against a real local HTTP server that misbehaves on
purpose (a real Rasa cannot be made slow or broken on demand)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from app.dialogue_client import DIALOGUE_BUSY, CircuitBreaker, DialogueUnavailable, RasaClient
from app.dialogue_slots import TurnSlots
from tests.loopback import answer_json, running


class MisbehavingRasa:
    """Answers like the app's channel of Rasa (dialogue/channels.py), or slowly, or with
    errors."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 0.0
        self.requests = 0
        self.messages: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, body: object) -> None:
                owner.requests += 1
                time.sleep(owner.delay)
                if owner.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                answer_json(self, body)

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                message = json.loads(self.rfile.read(length))
                owner.messages.append(message["message"])
                reply = f"re: {message['message']}"
                self._answer(
                    {
                        "messages": [{"recipient_id": message["sender"], "text": reply}],
                        "slots": {"reason": "billing"},
                        "intent": {"name": "billing_question", "confidence": 0.9},
                    }
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def rasa() -> Iterator[MisbehavingRasa]:
    server = MisbehavingRasa()
    with running(server.server):
        yield server


@pytest.fixture
def clients() -> Iterator[list[RasaClient]]:
    made: list[RasaClient] = []
    yield made
    for client in made:
        client.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_turn_returns_replies_slots_and_intent(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    clients.append(client := RasaClient(rasa.url, "token"))
    turn = client.turn("CA1", "my bill", {"call": {}})
    assert [r.text for r in turn.replies] == ["re: my bill"]
    assert turn.slots == {"reason": "billing"}
    assert (turn.intent, turn.confidence) == ("billing_question", 0.9)


def test_messages_told_first_go_before_the_callers_within_the_same_budget(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    keyed = '/keypad_menu{"reason": "billing"}'
    clients.append(client := RasaClient(rasa.url, "token", budget_seconds=0.5))
    turn = client.turn("CA1", "how long", {}, told_first=[keyed])
    assert rasa.messages == [keyed, "how long"]
    assert [r.text for r in turn.replies] == ["re: how long"]  # the caller's message's only
    rasa.delay = 0.3
    client.turn("CA1", "how long", {})  # one request: 0.3 s, inside 0.5 s
    with pytest.raises(DialogueUnavailable):  # one more message first: 0.6 s, past the budget
        client.turn("CA1", "how long", {}, told_first=[keyed])


def test_a_slow_rasa_is_abandoned_at_the_budget(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    rasa.delay = 1.0
    clients.append(client := RasaClient(rasa.url, "token", budget_seconds=0.2))
    with pytest.raises(DialogueUnavailable):
        client.turn("CA1", "hello", {})


def test_an_erroring_rasa_is_unavailable(rasa: MisbehavingRasa, clients: list[RasaClient]) -> None:
    rasa.mode = "error"
    clients.append(client := RasaClient(rasa.url, "token"))
    with pytest.raises(DialogueUnavailable):
        client.turn("CA1", "hello", {})


def test_the_breaker_stops_calling_a_failing_rasa_and_tries_again_after_the_cooldown(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock)
    clients.append(client := RasaClient(rasa.url, "token", breaker=breaker))
    rasa.mode = "error"
    for _ in range(3):
        with pytest.raises(DialogueUnavailable):
            client.turn("CA1", "hello", {})
    assert breaker.is_open
    seen = rasa.requests
    with pytest.raises(DialogueUnavailable, match="circuit open"):
        client.turn("CA1", "hello", {})
    assert rasa.requests == seen  # not even tried

    rasa.mode = "ok"
    clock.now += 10
    assert client.turn("CA1", "hello", {}).replies  # the trial goes through and closes it
    assert not breaker.is_open


def test_a_failed_trial_opens_the_breaker_again(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    clients.append(client := RasaClient(rasa.url, "token", breaker=breaker))
    rasa.mode = "error"
    with pytest.raises(DialogueUnavailable):
        client.turn("CA1", "hello", {})
    clock.now += 5
    with pytest.raises(DialogueUnavailable):
        client.turn("CA1", "hello", {})  # the trial fails
    with pytest.raises(DialogueUnavailable, match="circuit open"):
        client.turn("CA1", "hello", {})


def test_turns_beyond_a_process_s_slots_fall_back_at_once_instead_of_queueing(
    rasa: MisbehavingRasa, clients: list[RasaClient], redis_client: redis.Redis
) -> None:
    rasa.delay = 0.5
    slots = TurnSlots(redis_client, limit=2, budget_seconds=2)
    clients.append(client := RasaClient(rasa.url, "token", budget_seconds=2, slots=slots))
    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()
    started = threading.Barrier(4)

    def one() -> None:
        started.wait()
        began = time.monotonic()
        try:
            client.turn("CA1", "hello", {})
            result = "answered"
        except DialogueUnavailable as exc:
            result = str(exc)
        with lock:
            outcomes.append((result, time.monotonic() - began))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [result for result, _ in outcomes]
    assert results.count("answered") == 2, outcomes
    assert results.count(DIALOGUE_BUSY) == 2, outcomes
    # The two that found no slot were never sent to Rasa: it answered two turns.
    assert rasa.requests == 2
    assert not client.is_open  # being busy is not a failure of Rasa
    assert slots.in_use(rasa.url) == 0  # every slot given back


def test_a_full_process_passes_its_turn_to_the_next(
    rasa: MisbehavingRasa,
    other_rasa: MisbehavingRasa,
    clients: list[RasaClient],
    redis_client: redis.Redis,
) -> None:
    slots = TurnSlots(redis_client, limit=1, budget_seconds=2)
    held = slots.take(rasa.url)  # another web process's turn at the first Rasa
    assert held is not None
    clients.append(client := RasaClient([rasa.url, other_rasa.url], "token", slots=slots))
    for _ in range(2):  # round-robin would send one of these to the first
        assert client.turn("CA1", "hello", {}).replies
    assert (rasa.requests, other_rasa.requests) == (0, 2)
    slots.give_back(rasa.url, held)
    assert slots.in_use(rasa.url) == 0


def test_failures_never_carry_the_token(rasa: MisbehavingRasa, clients: list[RasaClient]) -> None:
    rasa.mode = "error"
    clients.append(client := RasaClient(rasa.url, "s3cret-token"))
    with pytest.raises(DialogueUnavailable) as failure:
        client.turn("CA1", "hello", {})
    assert "s3cret-token" not in str(failure.value)


@pytest.fixture
def other_rasa() -> Iterator[MisbehavingRasa]:
    server = MisbehavingRasa()
    with running(server.server):
        yield server


def test_turns_go_round_several_rasa_processes(
    rasa: MisbehavingRasa, other_rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    clients.append(client := RasaClient([rasa.url, other_rasa.url], "token"))
    for n in range(4):
        client.turn(f"CA{n}", "my bill", {})
    assert (rasa.requests, other_rasa.requests) == (2, 2)


def test_a_rasa_process_that_is_down_is_skipped_within_the_turn(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    clients.append(client := RasaClient([down, rasa.url], "token"))
    for n in range(6):
        turn = client.turn(f"CA{n}", "my bill", {})  # none falls back to the keypad
        assert [r.text for r in turn.replies] == ["re: my bill"]
    assert rasa.requests == 6
    assert not client.is_open


def test_a_turn_that_reached_a_process_is_not_sent_to_another(
    rasa: MisbehavingRasa, other_rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    """An error after the message arrived: it may have been handled, so it is not repeated
    elsewhere (the caller gets the keypad menu this once)."""
    rasa.mode = "error"
    clients.append(client := RasaClient([rasa.url, other_rasa.url], "token"))
    with pytest.raises(DialogueUnavailable):
        client.turn("CA1", "my bill", {})
    assert (rasa.requests, other_rasa.requests) == (1, 0)


def test_the_assistant_is_unavailable_only_when_every_process_is_off(
    rasa: MisbehavingRasa, other_rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    rasa.mode = other_rasa.mode = "error"
    clients.append(client := RasaClient([rasa.url, other_rasa.url], "token"))
    for n in range(10):
        with pytest.raises(DialogueUnavailable):
            client.turn(f"CA{n}", "my bill", {})
    assert client.is_open


def test_a_process_whose_cool_down_ended_gets_its_trial_even_when_another_answers(
    rasa: MisbehavingRasa, other_rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    """A breaker is asked only when its process is about to be used: asking lets the one
    trial of a half-open breaker through, which must not be spent on a turn another
    process answered."""
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    clients.append(client := RasaClient([rasa.url, other_rasa.url], "token", breaker=breaker))
    rasa.mode = "error"
    with pytest.raises(DialogueUnavailable):
        client.turn("CA0", "my bill", {})  # the first process fails: its breaker opens
    rasa.mode = "ok"
    clock.now += 6  # its cool-down is over
    for n in range(1, 5):
        client.turn(f"CA{n}", "my bill", {})
    assert not breaker.is_open
    assert rasa.requests >= 2  # its trial came, succeeded, and it took turns again


def test_turn_slots_unreadable_mean_the_keypad_menu_not_an_error(
    rasa: MisbehavingRasa, clients: list[RasaClient]
) -> None:
    nowhere = redis.Redis(port=9, socket_connect_timeout=0.2)  # nothing listens on port 9
    try:
        slots = TurnSlots(nowhere, limit=2, budget_seconds=1)
        clients.append(client := RasaClient(rasa.url, "token", slots=slots))
        with pytest.raises(DialogueUnavailable, match="turn slots unreadable"):
            client.turn("CA1", "hello", {})
        assert rasa.requests == 0
    finally:
        nowhere.close()
