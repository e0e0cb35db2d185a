"""A queue serving several languages, against a real Redis: a line per language plus the
callers still choosing, counts that never rise when someone chooses or changes language,
and dispatch only to an agent who speaks the caller's language, by arrival within it."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest
import redis

from app.queue_service import (
    AgentState,
    CallState,
    EndOutcome,
    LanguageOutcome,
    QueueService,
    SlotOutcome,
)
from app.queue_wait_estimate import estimate_for
from app.settings import QueueSettings
from standin import new_call_sid

EN, TH, LO = "en-US", "th-TH", "lo-LA"


@pytest.fixture
def asia() -> QueueSettings:
    return QueueSettings(name="asia", numbers=["+6620000000"], languages=[EN, TH, LO])


def number(i: int) -> str:
    return f"+6681000{i:04d}"


def arrive(queue_service: QueueService, queue: QueueSettings, i: int, language: str | None) -> str:
    sid = new_call_sid()
    queue_service.take_slot(queue, sid, number(i), language=language)
    return sid


def ahead(queue_service: QueueService, queue: QueueSettings, sid: str) -> int | None:
    return queue_service.position(queue, sid).people_ahead


def available(
    queue_service: QueueService, queue: QueueSettings, agent: str, *languages: str
) -> None:
    assert queue_service.set_agent_state(queue, agent, AgentState.available, languages)


def test_a_caller_still_choosing_counts_everyone_ahead_and_is_counted_by_everyone(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    english = arrive(queue_service, asia, 0, EN)
    arrive(queue_service, asia, 1, TH)
    choosing = arrive(queue_service, asia, 2, None)
    later_thai = arrive(queue_service, asia, 3, TH)
    later_lao = arrive(queue_service, asia, 4, LO)
    assert queue_service.position(asia, choosing).language is None
    assert ahead(queue_service, asia, choosing) == 2  # whatever they choose, at most 2
    assert ahead(queue_service, asia, later_thai) == 2  # thai + the one choosing
    assert ahead(queue_service, asia, later_lao) == 1  # only the one choosing
    assert ahead(queue_service, asia, english) == 0

    choice = queue_service.choose_language(asia, choosing, LO)
    assert (choice.outcome, choice.people_ahead) == (LanguageOutcome.chosen, 0)
    assert ahead(queue_service, asia, later_thai) == 1  # fell: the chooser went to Lao
    assert ahead(queue_service, asia, later_lao) == 1  # kept: the chooser is still ahead
    assert queue_service.position(asia, choosing).language == LO


def test_a_queue_with_one_language_puts_every_caller_in_it(
    queue_service: QueueService, support: QueueSettings
) -> None:
    slot = queue_service.take_slot(support, new_call_sid(), number(0))
    assert slot.language == support.default_language


def test_a_language_the_queue_does_not_serve_is_refused(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    sid = arrive(queue_service, asia, 0, None)
    assert queue_service.choose_language(asia, sid, "fr-FR").outcome is LanguageOutcome.not_served
    assert queue_service.choose_language(asia, new_call_sid(), TH).outcome is (
        LanguageOutcome.unknown
    )
    with pytest.raises(ValueError, match="does not serve"):
        queue_service.take_slot(asia, new_call_sid(), number(1), language="fr-FR")


def test_changing_language_keeps_the_arrival_order_and_raises_nobody_s_count(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    thai_first = arrive(queue_service, asia, 0, TH)
    switcher = arrive(queue_service, asia, 1, EN)
    thai_behind = arrive(queue_service, asia, 2, TH)
    assert ahead(queue_service, asia, thai_behind) == 1

    change = queue_service.choose_language(asia, switcher, TH)
    assert change.outcome is LanguageOutcome.changed
    assert change.people_ahead == 1  # the switcher's place among Thai callers: by arrival
    # The Thai caller behind was told 1 and is not told 2: the switcher is served before
    # them (arrival order) but not counted by them.
    assert ahead(queue_service, asia, thai_behind) == 1
    # A Thai caller arriving after the change counts everyone ahead of them, switcher too.
    thai_after = arrive(queue_service, asia, 3, TH)
    assert ahead(queue_service, asia, thai_after) == 3

    available(queue_service, asia, "somchai", TH)
    assert queue_service.dispatch(asia, 30).call_sid == thai_first
    assert queue_service.connect(asia, thai_first, "somchai") is not None
    assert ahead(queue_service, asia, thai_behind) == 0
    available(queue_service, asia, "malee", TH)
    offer = queue_service.dispatch(asia, 30)
    assert offer is not None and offer.call_sid == switcher  # arrival order kept
    assert ahead(queue_service, asia, thai_behind) == 0  # never went up


def test_changing_back_and_forth_still_raises_nobody_s_count(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    sids = [arrive(queue_service, asia, i, [EN, TH][i % 2]) for i in range(6)]
    told = {sid: ahead(queue_service, asia, sid) for sid in sids}
    for language in (TH, EN, TH, LO, EN):
        queue_service.choose_language(asia, sids[0], language)
        for sid in sids[1:]:
            now = ahead(queue_service, asia, sid)
            assert now is not None and now <= told[sid], (language, sid)
            told[sid] = now


def test_dispatch_offers_a_caller_only_to_an_agent_who_speaks_their_language(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    thai = arrive(queue_service, asia, 0, TH)
    english = arrive(queue_service, asia, 1, EN)
    available(queue_service, asia, "alice", EN)
    offer = queue_service.dispatch(asia, 30)
    # The Thai caller is first in the queue, but nobody free speaks Thai: the English caller
    # behind them goes to Alice; the Thai caller keeps their place for a Thai speaker.
    assert offer is not None and (offer.call_sid, offer.agent_id) == (english, "alice")
    assert offer.language == EN
    assert queue_service.dispatch(asia, 30) is None
    available(queue_service, asia, "somchai", TH, EN)
    again = queue_service.dispatch(asia, 30)
    assert again is not None and (again.call_sid, again.agent_id) == (thai, "somchai")


def test_the_earliest_caller_some_free_agent_speaks_for_goes_to_the_longest_idle_speaker(
    queue_service: QueueService, asia: QueueSettings, clock
) -> None:
    lao = arrive(queue_service, asia, 0, LO)
    thai = [arrive(queue_service, asia, i, TH) for i in range(1, 4)]
    available(queue_service, asia, "bilingual", EN, TH)
    clock.advance(10)
    available(queue_service, asia, "malee", TH)
    clock.advance(10)
    available(queue_service, asia, "noy", LO, TH)
    offers = [queue_service.dispatch(asia, 30) for _ in range(3)]
    assert [(o.call_sid, o.agent_id) for o in offers if o] == [
        (lao, "noy"),  # first in the queue, and Noy is the only Lao speaker
        (thai[0], "bilingual"),  # then Thai callers by arrival, longest idle speaker first
        (thai[1], "malee"),
    ]
    assert queue_service.position(asia, thai[2]).state is CallState.waiting


def test_callers_still_choosing_are_never_offered(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    choosing = arrive(queue_service, asia, 0, None)
    available(queue_service, asia, "alice", EN, TH, LO)
    assert queue_service.dispatch(asia, 30) is None
    queue_service.choose_language(asia, choosing, TH)
    offer = queue_service.dispatch(asia, 30)
    assert offer is not None and offer.call_sid == choosing


def test_a_restored_place_keeps_its_language(
    queue_service: QueueService, asia: QueueSettings, clock
) -> None:
    sid = arrive(queue_service, asia, 7, TH)
    assert queue_service.end_call(asia, sid) is EndOutcome.held
    clock.advance(60)
    back = queue_service.take_slot(asia, new_call_sid(), number(7), language=EN)
    assert (back.outcome, back.language) == (SlotOutcome.restored, TH)


def test_an_agent_s_languages_follow_their_latest_change_of_state(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    thai = arrive(queue_service, asia, 0, TH)
    available(queue_service, asia, "alice", EN)
    assert queue_service.dispatch(asia, 30) is None
    # The agents file now says Alice speaks Thai too: known the next time she changes.
    available(queue_service, asia, "alice", EN, TH)
    offer = queue_service.dispatch(asia, 30)
    assert offer is not None and offer.call_sid == thai


def test_a_lapsed_offer_returns_to_the_front_of_its_own_language(
    queue_service: QueueService, asia: QueueSettings, clock
) -> None:
    first = arrive(queue_service, asia, 0, TH)
    arrive(queue_service, asia, 1, TH)
    available(queue_service, asia, "malee", TH)
    assert queue_service.dispatch(asia, 20).call_sid == first
    clock.advance(21)  # Malee never answered: away
    available(queue_service, asia, "somchai", TH)
    assert queue_service.dispatch(asia, 20).call_sid == first


def test_the_wait_estimate_counts_only_agents_who_speak_the_caller_s_language(
    queue_service: QueueService, asia: QueueSettings, clock
) -> None:
    for i in range(3):
        available(queue_service, asia, f"agent{i}", EN)
    # Three finished conversations of 300 s each.
    for i in range(3):
        sid = arrive(queue_service, asia, i, EN)
        offer = queue_service.dispatch(asia, 30)
        assert offer is not None
        queue_service.connect(asia, sid, offer.agent_id)
        clock.advance(300)
        queue_service.end_call(asia, sid)
        available(queue_service, asia, offer.agent_id, EN)
    available(queue_service, asia, "somchai", TH, EN)
    snapshot = queue_service.snapshot(asia)
    assert snapshot.agents_working(EN) == 4
    assert snapshot.agents_working(TH) == 1
    assert snapshot.agents_working(LO) == 0
    UTC = ZoneInfo("UTC")
    # One caller ahead: with four free English speakers, both are answered at once; the one
    # Thai speaker takes the caller ahead, then this one after a 300 s conversation.
    english, thai = (
        estimate_for(snapshot, asia, 1, EN, UTC),
        estimate_for(snapshot, asia, 1, TH, UTC),
    )
    assert english is not None and english.median == 0
    assert thai is not None and thai.median == pytest.approx(300)
    assert estimate_for(snapshot, asia, 1, LO, UTC) is None  # nobody speaks Lao: not known


def test_the_snapshot_counts_each_language_and_the_callers_still_choosing(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    arrive(queue_service, asia, 0, TH)
    held = arrive(queue_service, asia, 1, TH)
    arrive(queue_service, asia, 2, None)
    queue_service.end_call(asia, held)
    snapshot = queue_service.snapshot(asia)
    assert (snapshot.line_length, snapshot.undecided, snapshot.held) == (3, 1, 1)
    assert (snapshot.languages[TH].line, snapshot.languages[TH].ready) == (2, 1)
    assert (snapshot.languages[EN].line, snapshot.languages[LO].line) == (0, 0)


def test_people_ahead_never_goes_up_with_choices_and_changes_of_language(
    queue_service: QueueService, asia: QueueSettings, clock
) -> None:
    """Arrivals (with or without a language), first choices, changes mid-call, drops,
    call-backs, offers to speakers, no-answers, connections and expiries in random order: no
    caller's count of people ahead rises, except their own after they change language."""
    rng = random.Random(20261202)
    live: dict[str, str] = {}  # sid -> number
    dropped: list[str] = []
    offered: dict[str, str] = {}
    last_heard: dict[str, int] = {}
    languages = [EN, TH, LO]
    for step in range(500):
        event = rng.random()
        if event < 0.25 or not live:
            sid, caller = new_call_sid(), number(step)
            language = rng.choice([None, None, *languages])
            queue_service.take_slot(asia, sid, caller, language=language)
            live[sid] = caller
        elif event < 0.37:
            sid = rng.choice(list(live))
            choice = queue_service.choose_language(asia, sid, rng.choice(languages))
            if choice.outcome is LanguageOutcome.changed:
                last_heard.pop(sid, None)  # their own doing: they hear the new number
        elif event < 0.45:
            sid = rng.choice(list(live))
            if queue_service.end_call(asia, sid) is EndOutcome.held:
                dropped.append(live[sid])
            live.pop(sid)
            offered.pop(sid, None)
        elif event < 0.52 and dropped:
            caller = dropped.pop(rng.randrange(len(dropped)))
            sid = new_call_sid()
            queue_service.take_slot(asia, sid, caller)
            live[sid] = caller
        elif event < 0.7:
            agent = f"agent-{step}"
            spoken = rng.sample(languages, rng.randint(1, 2))
            queue_service.set_agent_state(asia, agent, AgentState.available, spoken)
            offer = queue_service.dispatch(asia, 15)
            if offer is None:
                queue_service.set_agent_state(asia, agent, AgentState.away, spoken)
            else:
                offered[offer.call_sid] = offer.agent_id
        elif event < 0.8 and offered:
            sid = rng.choice(list(offered))
            queue_service.requeue_front(asia, sid, offered.pop(sid))
        elif event < 0.92 and offered:
            sid = rng.choice(list(offered))
            if queue_service.connect(asia, sid, offered.pop(sid)) is not None:
                live.pop(sid)
                last_heard.pop(sid, None)
        else:
            clock.advance(rng.choice([5, 30, 120, 400]))
        for sid in list(live):
            count = ahead(queue_service, asia, sid)
            if count is None:
                continue
            previous = last_heard.get(sid)
            assert previous is None or count <= previous, (step, sid)
            last_heard[sid] = count


def test_dispatch_skips_a_ready_entry_without_a_ticket_and_an_idle_agent_who_is_busy(
    queue_service: QueueService, asia: QueueSettings, redis_client: redis.Redis
) -> None:
    first = arrive(queue_service, asia, 0, LO)
    available(queue_service, asia, "noy", LO)
    assert queue_service.dispatch(asia, 30).call_sid == first
    assert queue_service.connect(asia, first, "noy") is not None
    # As left behind by a language removed and added back while this process ran.
    redis_client.zadd(f"cq:{{asia}}:ready:{LO}", {"0": 0})
    redis_client.zadd(f"cq:{{asia}}:line:{LO}", {"0": 0})
    redis_client.zadd(f"cq:{{asia}}:idle:{LO}", {"noy": 1})
    waiting = arrive(queue_service, asia, 1, LO)
    assert queue_service.dispatch(asia, 30) is None  # no error, and not to Noy on her call
    assert ahead(queue_service, asia, waiting) == 0  # the entry without a ticket went
    available(queue_service, asia, "kham", LO)
    offer = queue_service.dispatch(asia, 30)
    assert offer is not None and (offer.call_sid, offer.agent_id) == (waiting, "kham")


def test_a_bilingual_agent_is_kept_for_the_caller_only_they_can_serve(
    queue_service: QueueService, asia: QueueSettings, clock
) -> None:
    thai = arrive(queue_service, asia, 0, TH)
    lao = arrive(queue_service, asia, 1, LO)
    available(queue_service, asia, "noy", TH, LO)  # longest idle, the only Lao speaker
    clock.advance(10)
    available(queue_service, asia, "malee", TH)
    offers = [queue_service.dispatch(asia, 30) for _ in range(2)]
    assert [(o.call_sid, o.agent_id) for o in offers if o] == [(thai, "malee"), (lao, "noy")]


def test_with_no_one_else_free_the_bilingual_agent_takes_the_earlier_caller(
    queue_service: QueueService, asia: QueueSettings
) -> None:
    thai = arrive(queue_service, asia, 0, TH)
    arrive(queue_service, asia, 1, LO)
    available(queue_service, asia, "noy", TH, LO)
    offer = queue_service.dispatch(asia, 30)
    assert offer is not None and (offer.call_sid, offer.agent_id) == (thai, "noy")
