"""A queue whose languages changed under waiting callers, against a real Redis: callers and
agents from before queues had languages, a language removed while its callers wait, and one
added back later. Each process reconciles the queue when it starts (here: a new
QueueService, whose first use of a queue reconciles it); nobody's count of people ahead
rises, and dispatch still goes by arrival to an agent who is free."""

from __future__ import annotations

import json

import pytest
import redis

from app.bootstrap import build_services
from app.queue_service import (
    AgentState,
    CallState,
    LanguageOutcome,
    QueueService,
    language_keys,
    queue_keys,
    sole_language_sets,
)
from app.settings import OperatorConfig, QueueSettings, Settings
from standin import new_call_sid

EN, TH, LO = "en-US", "th-TH", "lo-LA"


def queue(*languages: str) -> QueueSettings:
    return QueueSettings(name="asia", numbers=["+6620000000"], languages=list(languages))


def number(i: int) -> str:
    return f"+6681000{i:04d}"


def arrive(service: QueueService, q: QueueSettings, i: int, language: str | None) -> str:
    sid = new_call_sid()
    service.take_slot(q, sid, number(i), language=language)
    return sid


def ahead(service: QueueService, q: QueueSettings, sid: str) -> int | None:
    return service.position(q, sid).people_ahead


def available(service: QueueService, q: QueueSettings, agent: str, *languages: str) -> None:
    assert service.set_agent_state(q, agent, AgentState.available, languages)


def offered_in_turn(
    service: QueueService, q: QueueSettings, language: str, count: int
) -> list[str]:
    """`count` agents of `language` made available one after another, each put through to
    the caller offered to them: those callers, in the order offered."""
    offered = []
    for i in range(count):
        available(service, q, f"agent{i}", language)
        offer = service.dispatch(q, 30)
        assert offer is not None
        offered.append(offer.call_sid)
        assert service.connect(q, offer.call_sid, offer.agent_id) is not None
    return offered


def restart(redis_client: redis.Redis, clock) -> QueueService:
    """Another process, as after a deploy: its first use of a queue reconciles it."""
    return QueueService(redis_client, clock=clock)


def key(q: QueueSettings, name: str) -> str:
    return f"cq:{{{q.name}}}:{name}"


def make_legacy_ticket(redis_client: redis.Redis, q: QueueSettings, sid: str) -> None:
    """Strip a ticket back to what it was before queues had languages: no `language`, and in
    no language's line (still in the queue's own line and ready set)."""
    ticket = redis_client.hget(key(q, "calls"), sid).decode()
    rec = json.loads(redis_client.hget(key(q, "tickets"), ticket))
    del rec["language"]
    redis_client.hset(key(q, "tickets"), ticket, json.dumps(rec))
    for language in q.languages:
        for name in ("line", "ready", "switched"):
            redis_client.zrem(key(q, f"{name}:{language}"), ticket)
    redis_client.zrem(key(q, "undecided"), ticket)


def add_legacy_agent(redis_client: redis.Redis, q: QueueSettings, agent: str, since: float) -> None:
    """An agent made available before agents had languages: in the queue's idle set only."""
    record = {"state": "available", "since": since, "idle_since": since}
    redis_client.hset(key(q, "agents"), agent, json.dumps(record))
    redis_client.zadd(key(q, "idle"), {agent: since})


# 1. Callers and agents from before queues had languages.


def test_a_caller_from_before_languages_is_served_in_arrival_order_without_raising_counts(
    redis_client: redis.Redis, clock
) -> None:
    support = queue(EN)
    before = QueueService(redis_client, clock=clock)
    legacy = arrive(before, support, 0, EN)
    later = arrive(before, support, 1, EN)
    make_legacy_ticket(redis_client, support, legacy)
    told = ahead(before, support, later)
    # A one-language queue's line is its language's (queue_keys): counted from the first.
    assert told == 1

    service = restart(redis_client, clock)
    assert service.position(support, legacy).language == EN
    assert ahead(service, support, legacy) == 0
    assert ahead(service, support, later) == told  # neither raised nor lowered
    newcomer = arrive(service, support, 2, EN)
    assert ahead(service, support, newcomer) == 2  # everyone ahead, counted
    available(service, support, "alice", EN)
    offer = service.dispatch(support, 30)
    assert offer is not None and offer.call_sid == legacy  # by arrival
    assert ahead(service, support, later) == 1  # ringing an agent: ahead until answered
    service.connect(support, legacy, "alice")
    assert ahead(service, support, later) == 0


def test_an_agent_from_before_languages_gets_calls_in_the_default_language(
    redis_client: redis.Redis, clock
) -> None:
    support = queue(EN)
    add_legacy_agent(redis_client, support, "alice", clock.now - 60)
    service = restart(redis_client, clock)
    sid = arrive(service, support, 0, EN)
    offer = service.dispatch(support, 30)
    assert offer is not None and (offer.call_sid, offer.agent_id) == (sid, "alice")


def test_on_a_queue_with_several_languages_a_caller_from_before_them_is_still_choosing(
    redis_client: redis.Redis, clock
) -> None:
    asia = queue(EN, TH, LO)
    before = QueueService(redis_client, clock=clock)
    legacy = arrive(before, asia, 0, TH)
    thai = arrive(before, asia, 1, TH)
    make_legacy_ticket(redis_client, asia, legacy)
    assert ahead(before, asia, thai) == 0

    service = restart(redis_client, clock)
    position = service.position(asia, legacy)
    # No language: the app offers the menu on the next round of the wait loop.
    assert (position.language, position.people_ahead) == (None, 0)
    assert ahead(service, asia, thai) == 0  # not raised
    later_thai = arrive(service, asia, 2, TH)
    assert ahead(service, asia, later_thai) == 2  # arrived after: counts both
    available(service, asia, "somchai", TH)
    offer = service.dispatch(asia, 30)
    assert offer is not None and offer.call_sid == thai  # still choosing: not offered
    service.requeue_front(asia, thai, "somchai", agent_available=True)

    choice = service.choose_language(asia, legacy, TH)
    assert (choice.outcome, choice.people_ahead) == (LanguageOutcome.chosen, 0)
    assert ahead(service, asia, thai) == 0  # still not raised by the choice
    assert ahead(service, asia, later_thai) == 2
    offer = service.dispatch(asia, 30)
    assert offer is not None and offer.call_sid == legacy  # arrival order kept


# 2. A language removed while its callers wait.


@pytest.mark.parametrize("kept", [(EN, TH), (EN,)], ids=["several kept", "one kept"])
def test_callers_of_a_removed_language_move_to_the_default_keeping_their_order(
    redis_client: redis.Redis, clock, kept: tuple[str, ...]
) -> None:
    with_lao = queue(*kept, LO)
    before = QueueService(redis_client, clock=clock)
    english = arrive(before, with_lao, 0, EN)
    lao = [arrive(before, with_lao, i, LO) for i in (1, 2)]
    english_behind = arrive(before, with_lao, 3, EN)
    assert ahead(before, with_lao, english_behind) == 1

    # With one language kept, its line is the queue's own (queue_keys), which held the
    # Lao callers all along: they are counted by nobody who did not count them before.
    without_lao = queue(*kept)
    service = restart(redis_client, clock)
    assert [service.position(without_lao, sid).language for sid in lao] == [EN, EN]
    assert [ahead(service, without_lao, sid) for sid in lao] == [1, 2]
    assert ahead(service, without_lao, english_behind) == 1  # not raised
    newcomer = arrive(service, without_lao, 4, EN)
    assert ahead(service, without_lao, newcomer) == 4

    offers = offered_in_turn(service, without_lao, EN, 5)
    assert offers == [english, *lao, english_behind, newcomer]
    # The removed language's keys are gone, and so are the sets of its own the one kept
    # language had while the queue served several.
    assert not any(redis_client.exists(k) for k in queue_keys(with_lao)[-4:])
    assert not any(redis_client.exists(k) for k in sole_language_sets(without_lao))


def test_a_one_language_queue_keeps_its_callers_once(redis_client: redis.Redis, clock) -> None:
    support = queue(EN)
    service = restart(redis_client, clock)
    sids = [arrive(service, support, i, EN) for i in range(3)]
    assert redis_client.zcard(key(support, "line")) == 3
    assert redis_client.zcard(key(support, "ready")) == 3
    assert not any(redis_client.exists(k) for k in language_keys(support, [EN])[:2])
    assert [ahead(service, support, sid) for sid in sids] == [0, 1, 2]


def test_a_caller_left_undecided_by_an_older_process_is_offered_in_the_one_language(
    redis_client: redis.Redis, clock
) -> None:
    alone = queue(EN)
    service = restart(redis_client, clock)
    first = arrive(service, alone, 0, EN)
    # A process not yet restarted, whose queues.yml gave the queue two languages (and which
    # reconciled it so before): its new caller is still to choose.
    older = QueueService(redis_client, clock=clock, reconciled=["asia"])
    undecided = arrive(older, queue(EN, TH), 1, None)
    assert ahead(service, alone, undecided) == 1
    for agent in ("alice", "bob"):
        available(service, alone, agent, EN)
        offer = service.dispatch(alone, 30)
        assert offer is not None
        assert service.connect(alone, offer.call_sid, offer.agent_id) is not None
    assert service.position(alone, undecided).state is CallState.serving
    assert service.position(alone, first).state is CallState.serving


def test_a_one_language_queue_given_more_keeps_every_place_and_count(
    redis_client: redis.Redis, clock
) -> None:
    alone = queue(EN)
    before = QueueService(redis_client, clock=clock)
    english = [arrive(before, alone, i, EN) for i in range(3)]

    both = queue(EN, TH)
    service = restart(redis_client, clock)
    assert [ahead(service, both, sid) for sid in english] == [0, 1, 2]
    thai = arrive(service, both, 3, TH)
    newcomer = arrive(service, both, 4, EN)
    assert (ahead(service, both, thai), ahead(service, both, newcomer)) == (0, 3)
    assert not service.reconcile(both).changed  # settled in one go
    available(service, both, "somchai", TH)
    offer = service.dispatch(both, 30)
    assert offer is not None and offer.call_sid == thai
    assert offered_in_turn(service, both, EN, 4) == [*english, newcomer]


def test_an_offer_to_a_removed_language_s_caller_lapses_back_into_the_default_line(
    redis_client: redis.Redis, clock
) -> None:
    with_lao = queue(EN, TH, LO)
    before = QueueService(redis_client, clock=clock)
    lao = arrive(before, with_lao, 0, LO)
    available(before, with_lao, "noy", LO)
    assert before.dispatch(with_lao, 20).call_sid == lao
    english = arrive(before, with_lao, 1, EN)
    assert ahead(before, with_lao, english) == 0

    without_lao = queue(EN, TH)
    service = restart(redis_client, clock)
    clock.advance(21)  # Noy never answered: the caller goes back to the front
    assert service.position(without_lao, lao).state is CallState.waiting
    assert ahead(service, without_lao, english) == 0  # not raised
    # Back in the default language's line, not only its ready set: a caller arriving now
    # counts them, since they are served first.
    newcomer = arrive(service, without_lao, 2, EN)
    assert ahead(service, without_lao, newcomer) == 2
    available(service, without_lao, "alice", EN)
    offer = service.dispatch(without_lao, 20)
    assert offer is not None and offer.call_sid == lao
    assert service.connect(without_lao, lao, "alice") is not None
    assert ahead(service, without_lao, english) == 0
    assert ahead(service, without_lao, newcomer) == 1


def test_a_caller_put_in_a_removed_language_by_a_process_not_yet_restarted_is_moved(
    redis_client: redis.Redis, clock
) -> None:
    with_lao, without_lao = queue(EN, TH, LO), queue(EN, TH)
    service = restart(redis_client, clock)
    english = arrive(service, without_lao, 0, EN)
    old_process = QueueService(redis_client, clock=clock)  # still with Lao in its queues.yml
    lao = arrive(old_process, with_lao, 1, LO)
    assert service.position(without_lao, lao).language == EN
    assert ahead(service, without_lao, english) == 0
    available(service, without_lao, "alice", EN)
    assert service.dispatch(without_lao, 20).call_sid == english
    available(service, without_lao, "bob", EN)
    offer = service.dispatch(without_lao, 20)
    assert offer is not None and offer.call_sid == lao


def test_reconciling_finds_a_removed_language_from_its_callers_and_runs_once(
    redis_client: redis.Redis, clock
) -> None:
    with_lao, without_lao = queue(EN, TH, LO), queue(EN, TH)
    before = QueueService(redis_client, clock=clock)
    arrive(before, with_lao, 0, LO)
    # As on the first start with reconciling: no record of the languages served before.
    redis_client.delete(key(with_lao, "served_languages"))
    service = QueueService(redis_client, clock=clock)
    first = service.reconcile(without_lao)
    assert (first.retired, first.moved) == ((LO,), 1)
    again = service.reconcile(without_lao)
    assert not again.changed
    assert {m.decode() for m in redis_client.smembers(key(with_lao, "served_languages"))} == {
        EN,
        TH,
        LO,
    }


# 3. A language added back after it was removed.


def test_a_language_added_back_has_no_ghost_callers_and_no_busy_agents(
    redis_client: redis.Redis, clock
) -> None:
    with_lao, without_lao = queue(EN, TH, LO), queue(EN, TH)
    before = QueueService(redis_client, clock=clock)
    lao = arrive(before, with_lao, 0, LO)
    available(before, with_lao, "noy", LO, EN)

    during = restart(redis_client, clock)  # Lao removed
    offer = during.dispatch(without_lao, 30)
    assert offer is not None and (offer.call_sid, offer.agent_id) == (lao, "noy")
    assert during.connect(without_lao, lao, "noy") is not None  # Noy is on a call

    after = restart(redis_client, clock)  # Lao added back
    newcomer = arrive(after, with_lao, 1, LO)
    assert ahead(after, with_lao, newcomer) == 0
    assert after.dispatch(with_lao, 30) is None  # Noy is on a call: never two callers
    assert after.agent(with_lao, "noy").state is AgentState.on_call


# At start.


def test_each_process_reconciles_its_queues_when_it_starts(
    redis_client: redis.Redis,
    clock,
    settings: Settings,
    operator_config: OperatorConfig,
) -> None:
    support = operator_config.queue_named("support")
    add_legacy_agent(redis_client, support, "alice", clock.now - 60)
    services = build_services(settings, operator_config, clock)
    try:
        idle = redis_client.zrange(key(support, f"idle:{support.default_language}"), 0, -1)
        assert idle == [b"alice"]
    finally:
        services.close()


@pytest.mark.parametrize("languages", [[EN], [EN, TH, LO]])
def test_reconciling_a_queue_in_order_changes_nothing(
    redis_client: redis.Redis, clock, languages: list[str]
) -> None:
    q = queue(*languages)
    service = restart(redis_client, clock)
    for i, language in enumerate([None, EN, languages[-1], None]):
        arrive(service, q, i, language)
    available(service, q, "alice", *languages)
    held = arrive(service, q, 9, EN)
    service.end_call(q, held)
    assert not service.reconcile(q).changed
