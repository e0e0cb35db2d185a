"""The bound on dialogue turns at once per Rasa process, shared by every web process through
a real Redis."""

from __future__ import annotations

import time

import pytest
import redis

from app.dialogue_slots import TurnSlots, slots_per_process

RASA = "http://127.0.0.1:5005"


def test_the_bound_is_what_a_process_answers_within_40_percent_of_the_budget() -> None:
    assert slots_per_process(20, 1.5) == 12
    assert slots_per_process(29, 1.5) == 17
    assert slots_per_process(0.5, 1.5) == 1  # a very slow process still gets a turn


def test_web_processes_share_one_process_s_slots(redis_client: redis.Redis) -> None:
    first, second = (TurnSlots(redis_client, limit=3, budget_seconds=1.5) for _ in range(2))
    tokens = [first.take(RASA), second.take(RASA), first.take(RASA)]
    assert all(tokens)
    assert second.take(RASA) is None
    assert first.take("http://127.0.0.1:5006") is not None  # another process, other slots
    first.give_back(RASA, str(tokens[1]))
    assert second.take(RASA) is not None
    assert first.in_use(RASA) == 3


def test_a_slot_of_a_web_process_that_died_frees_itself(redis_client: redis.Redis) -> None:
    slots = TurnSlots(redis_client, limit=1, budget_seconds=0.05)
    assert slots.take(RASA) is not None  # never given back
    assert slots.take(RASA) is None
    time.sleep(0.05 + 1.0 + 0.1)  # the budget and the grace second
    assert slots.take(RASA) is not None


def test_no_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TurnSlots(redis.Redis(), limit=0, budget_seconds=1)
