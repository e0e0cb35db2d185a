"""The guaranteed queue's rules, against a real Redis, with the clock moved by hand."""

from __future__ import annotations

import random
import threading

import pytest

from app.queue_service import (
    AgentState,
    CallState,
    EndOutcome,
    Offer,
    QueueService,
    SlotOutcome,
)
from app.settings import QueueSettings
from standin import new_call_sid


def caller_number(i: int) -> str:
    return f"+1415555{i:04d}"


def fill(queue_service: QueueService, queue: QueueSettings, count: int) -> list[str]:
    sids = [new_call_sid() for _ in range(count)]
    for i, sid in enumerate(sids):
        queue_service.take_slot(queue, sid, caller_number(i))
    return sids


def offer_head(
    queue_service: QueueService, queue: QueueSettings, agent: str, lease_seconds: int
) -> Offer | None:
    """Offer the head of the line to this one agent: they become available, dispatch pairs
    them with the head, and they go away again if nobody was ready."""
    queue_service.set_agent_state(queue, agent, AgentState.available)
    offer = queue_service.dispatch(queue, lease_seconds)
    if offer is None:
        queue_service.set_agent_state(queue, agent, AgentState.away)
    return offer


def test_concurrent_arrivals_get_distinct_gap_free_positions(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = [new_call_sid() for _ in range(50)]
    slots = {}
    barrier = threading.Barrier(len(sids))

    def arrive(i: int, sid: str) -> None:
        barrier.wait()
        slots[sid] = queue_service.take_slot(support, sid, caller_number(i))

    threads = [threading.Thread(target=arrive, args=(i, s)) for i, s in enumerate(sids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(s.people_ahead for s in slots.values()) == list(range(50))
    assert sorted(s.ticket for s in slots.values()) == list(range(1, 51))
    # The number heard on arrival is the caller's place, then and later.
    for sid, slot in slots.items():
        assert queue_service.position(support, sid).people_ahead == slot.people_ahead


def test_retried_webhook_keeps_one_slot(
    queue_service: QueueService, support: QueueSettings
) -> None:
    fill(queue_service, support, 3)
    sid = new_call_sid()
    first = queue_service.take_slot(support, sid, "+14155550999")
    again = queue_service.take_slot(support, sid, "+14155550999")
    assert again.outcome is SlotOutcome.existing
    assert (again.ticket, again.people_ahead) == (first.ticket, first.people_ahead)
    assert queue_service.snapshot(support).line_length == 4


def test_people_ahead_never_counts_the_caller(
    queue_service: QueueService, support: QueueSettings
) -> None:
    slot = queue_service.take_slot(support, new_call_sid(), "+14155550100")
    assert slot.people_ahead == 0


def test_dropped_caller_who_calls_back_within_grace_keeps_their_place(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    sids = fill(queue_service, support, 21)
    # The caller at position 21 (20 ahead) waits while 14 callers ahead are served...
    dropped = sids[20]
    for i in range(14):
        offer = offer_head(queue_service, support, f"agent-{i}", lease_seconds=30)
        assert offer is not None
        assert queue_service.connect(support, offer.call_sid, f"agent-{i}") is not None
    assert queue_service.position(support, dropped).people_ahead == 6
    # ... then the line drops.
    assert queue_service.end_call(support, dropped) is EndOutcome.held
    clock.advance(support.grace_period_seconds - 1)
    back = queue_service.take_slot(support, new_call_sid(), caller_number(20))
    assert back.outcome is SlotOutcome.restored
    assert back.previous_call_sid == dropped
    assert back.people_ahead <= 6


def test_held_place_still_counts_ahead_of_later_callers(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = fill(queue_service, support, 5)
    behind = new_call_sid()
    assert queue_service.take_slot(support, behind, "+14155550900").people_ahead == 5
    queue_service.end_call(support, sids[1])
    assert queue_service.position(support, behind).people_ahead == 5
    assert queue_service.position(support, sids[4]).people_ahead == 4


def test_after_grace_the_caller_starts_at_the_back_and_those_behind_move_up(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    sids = fill(queue_service, support, 8)
    queue_service.end_call(support, sids[5])
    assert queue_service.position(support, sids[7]).people_ahead == 7
    clock.advance(support.grace_period_seconds + 1)
    assert queue_service.position(support, sids[7]).people_ahead == 6
    again = queue_service.take_slot(support, new_call_sid(), caller_number(5))
    assert again.outcome is SlotOutcome.new
    assert again.people_ahead == 7


def test_withheld_number_never_restores_a_place(
    queue_service: QueueService, support: QueueSettings
) -> None:
    fill(queue_service, support, 3)
    sid = new_call_sid()
    queue_service.take_slot(support, sid, None)
    assert queue_service.end_call(support, sid) is EndOutcome.released
    other = queue_service.take_slot(support, new_call_sid(), None)
    assert other.outcome is SlotOutcome.new
    assert other.people_ahead == 3


def test_status_callbacks_repeated_or_unknown_change_nothing(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = fill(queue_service, support, 3)
    assert queue_service.end_call(support, sids[0]) is EndOutcome.held
    assert queue_service.end_call(support, sids[0]) is EndOutcome.unknown
    assert queue_service.end_call(support, new_call_sid()) is EndOutcome.unknown
    snap = queue_service.snapshot(support)
    assert (snap.line_length, snap.held, snap.ready) == (3, 1, 2)


def test_leaving_by_choice_releases_the_place(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = fill(queue_service, support, 4)
    assert queue_service.leave(support, sids[1]) is True
    assert queue_service.position(support, sids[3]).people_ahead == 2
    assert queue_service.position(support, sids[1]).state is CallState.unknown
    assert queue_service.end_call(support, sids[1]) is EndOutcome.unknown


def test_dispatch_skips_held_places_and_offered_callers_still_count_ahead(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = fill(queue_service, support, 3)
    queue_service.end_call(support, sids[0])
    offer = offer_head(queue_service, support, "agent-a", lease_seconds=30)
    assert offer is not None and offer.call_sid == sids[1]
    assert queue_service.position(support, sids[2]).people_ahead == 2
    assert queue_service.position(support, sids[1]).state is CallState.offered


def test_agent_no_answer_puts_the_caller_back_at_the_front(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = fill(queue_service, support, 4)
    offer = offer_head(queue_service, support, "agent-a", lease_seconds=30)
    assert offer is not None and offer.call_sid == sids[0]
    assert queue_service.requeue_front(support, sids[0], "agent-b") is None  # not theirs
    assert queue_service.requeue_front(support, sids[0], "agent-a") == 0
    again = offer_head(queue_service, support, "agent-b", lease_seconds=30)
    assert again is not None and again.call_sid == sids[0]
    # Only the agent it was offered to can take it.
    assert queue_service.connect(support, sids[0], "agent-a") is None
    assert queue_service.connect(support, sids[0], "agent-b") is not None


def test_a_lapsed_offer_returns_to_the_front_by_itself(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    sids = fill(queue_service, support, 3)
    offer_head(queue_service, support, "agent-a", lease_seconds=20)
    clock.advance(21)
    again = offer_head(queue_service, support, "agent-b", lease_seconds=20)
    assert again is not None and again.call_sid == sids[0]


def test_one_held_place_per_number_keeps_the_better_one(
    queue_service: QueueService, support: QueueSettings
) -> None:
    fill(queue_service, support, 2)
    first, second = new_call_sid(), new_call_sid()
    queue_service.take_slot(support, first, "+14155550777")
    queue_service.take_slot(support, second, "+14155550777")
    assert queue_service.end_call(support, second) is EndOutcome.held
    assert queue_service.end_call(support, first) is EndOutcome.held
    back = queue_service.take_slot(support, new_call_sid(), "+14155550777")
    assert back.previous_call_sid == first
    assert back.people_ahead == 2
    assert queue_service.snapshot(support).line_length == 3


def test_finished_conversations_feed_the_handle_times(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    sids = fill(queue_service, support, 2)
    offer = offer_head(queue_service, support, "agent-a", lease_seconds=30)
    assert offer is not None
    clock.advance(5)
    assert queue_service.connect(support, sids[0], "agent-a") == pytest.approx(5)
    clock.advance(240)
    assert queue_service.end_call(support, sids[0]) is EndOutcome.finished
    assert queue_service.end_call(support, sids[0]) is EndOutcome.unknown
    snap = queue_service.snapshot(support)
    assert snap.handle_times == [pytest.approx(240)]
    clock.advance(support.estimate_window_seconds + 1)
    # Past the window, still one of the newest `estimate_keep_durations`.
    assert queue_service.snapshot(support).handle_times == [pytest.approx(240)]
    brief = support.model_copy(update={"estimate_keep_durations": 0})
    assert queue_service.snapshot(brief).handle_times == []


def test_closed_hours_refuse_new_places_but_restore_held_ones(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sid = new_call_sid()
    queue_service.take_slot(support, sid, "+14155550123")
    queue_service.end_call(support, sid)
    closed = queue_service.take_slot(support, new_call_sid(), "+14155550999", allow_new=False)
    assert closed.outcome is SlotOutcome.closed
    restored = queue_service.take_slot(support, new_call_sid(), "+14155550123", allow_new=False)
    assert restored.outcome is SlotOutcome.restored


def test_people_ahead_never_goes_up_under_random_events(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    """Arrivals, drops, call-backs, offers, no-answers, connections and expiries in random
    order: no waiting caller's number of people ahead ever rises."""
    rng = random.Random(20261125)
    live: dict[str, str] = {}  # sid -> number, callers on the line (waiting or offered)
    dropped: list[str] = []  # numbers holding a place
    offered: dict[str, str] = {}  # sid -> agent
    last_heard: dict[str, int] = {}
    for step in range(400):
        event = rng.random()
        if event < 0.3 or not live:
            sid, number = new_call_sid(), caller_number(step)
            queue_service.take_slot(support, sid, number)
            live[sid] = number
        elif event < 0.42:
            sid = rng.choice(list(live))
            if queue_service.end_call(support, sid) is EndOutcome.held:
                dropped.append(live[sid])
            live.pop(sid)
            offered.pop(sid, None)
        elif event < 0.52 and dropped:
            number = dropped.pop(rng.randrange(len(dropped)))
            sid = new_call_sid()
            if queue_service.take_slot(support, sid, number).outcome is SlotOutcome.restored:
                last_heard.pop(sid, None)
            live[sid] = number
        elif event < 0.7:
            agent = f"agent-{step}"
            # An agent freed by a caller who hung up while it rang may be the one chosen.
            offer = offer_head(queue_service, support, agent, lease_seconds=15)
            if offer is not None:
                offered[offer.call_sid] = offer.agent_id
        elif event < 0.8 and offered:
            sid = rng.choice(list(offered))
            queue_service.requeue_front(support, sid, offered.pop(sid))
        elif event < 0.92 and offered:
            sid = rng.choice(list(offered))
            if queue_service.connect(support, sid, offered.pop(sid)) is not None:
                live.pop(sid)
                last_heard.pop(sid, None)
        else:
            clock.advance(rng.choice([5, 30, 120, 400]))
        for sid in list(live):
            position = queue_service.position(support, sid)
            if position.people_ahead is None:
                continue
            previous = last_heard.get(sid)
            assert previous is None or position.people_ahead <= previous, (step, sid)
            last_heard[sid] = position.people_ahead


def test_a_late_no_answer_from_an_agent_whose_lease_lapsed_changes_nothing(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    sids = fill(queue_service, support, 2)
    offer_head(queue_service, support, "agent-a", lease_seconds=20)
    assert queue_service.offer_delivered(support, sids[0], "agent-a")  # A's phone rings
    clock.advance(21)  # agent A's lease lapses (A is away); the caller is offered to B
    assert offer_head(queue_service, support, "agent-b", lease_seconds=20).call_sid == sids[0]
    assert queue_service.requeue_front(support, sids[0], "agent-a") is None
    offer = offer_head(queue_service, support, "agent-c", lease_seconds=20)
    assert offer is not None and offer.call_sid == sids[1]  # not the caller B is ringing
    assert queue_service.connect(support, sids[0], "agent-b") is not None


def test_an_ended_call_never_takes_a_place_again(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sid = new_call_sid()
    queue_service.take_slot(support, sid, "+14155550123")
    assert queue_service.end_call(support, sid) is EndOutcome.held
    # A request for the ended call that arrives late must not revive it as a ghost.
    assert queue_service.take_slot(support, sid, "+14155550123").outcome is SlotOutcome.ended
    back = queue_service.take_slot(support, new_call_sid(), "+14155550123")
    assert back.outcome is SlotOutcome.restored and back.people_ahead == 0
    assert queue_service.snapshot(support).line_length == 1


def test_a_lapsed_offer_never_delivered_leaves_the_agent_available(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    """The worker died before the call was moved: the agent was never rung."""
    [sid] = fill(queue_service, support, 1)
    offer_head(queue_service, support, "agent-a", lease_seconds=20)
    clock.advance(21)
    assert queue_service.agent(support, "agent-a").state is AgentState.available
    assert queue_service.position(support, sid).state is CallState.waiting
    assert not queue_service.offer_delivered(support, sid, "agent-a"), "the offer is over"


def test_a_poll_reads_the_place_and_whether_the_estimate_s_inputs_moved(
    queue_service: QueueService, support: QueueSettings, clock
) -> None:
    """The count moves with what the wait estimate learns from (agents, durations, who
    left the line), not with callers joining."""
    sids = fill(queue_service, support, 3)
    polled = queue_service.poll(support, sids[2])
    assert polled.position == queue_service.position(support, sids[2])
    assert polled.position.people_ahead == 2
    assert queue_service.poll(support, "CA-not-a-call").position.state is CallState.unknown
    fill(queue_service, support, 2)
    assert queue_service.poll(support, sids[2]).inputs == polled.inputs
    seen = {polled.inputs}
    queue_service.set_agent_state(support, "agent-a", AgentState.available)
    seen.add(queue_service.poll(support, sids[2]).inputs)
    offer = queue_service.dispatch(support, lease_seconds=30)
    assert offer is not None
    queue_service.connect(support, offer.call_sid, "agent-a")  # sids[0] left the line
    seen.add(queue_service.poll(support, sids[2]).inputs)
    clock.advance(120)
    queue_service.end_call(support, offer.call_sid)  # a conversation's length
    seen.add(queue_service.poll(support, sids[2]).inputs)
    queue_service.leave(support, sids[1])  # a caller gave up after waiting
    seen.add(queue_service.poll(support, sids[2]).inputs)
    assert len(seen) == 5
