"""Callbacks in the queue's rules (real Redis, the clock moved by hand): a caller who asks
to be called back keeps their place exactly, is offered in their turn, and a try that does
not reach them frees the agent at once and is tried again after the pause, up to the
operator's number of tries."""

from __future__ import annotations

import pytest

from app.queue_service import (
    AgentState,
    CallbackRequest,
    CallbackTry,
    CallState,
    EndOutcome,
    Offer,
    QueueService,
    SlotOutcome,
)
from app.settings import OperatorConfig, QueueSettings
from standin import new_call_sid
from tests.conftest import Clock
from tests.test_queue_rules import caller_number, fill

LEASE = 50
CALLBACK_LEASE = 120


def ahead(queue_service: QueueService, queue: QueueSettings, sid: str) -> int | None:
    return queue_service.position(queue, sid).people_ahead


def available(queue_service: QueueService, queue: QueueSettings, *agents: str) -> None:
    for agent in agents:
        queue_service.set_agent_state(queue, agent, AgentState.available)


def ask_and_hang_up(queue_service: QueueService, queue: QueueSettings, sid: str, i: int) -> None:
    outcome, _ = queue_service.request_callback(queue, sid, caller_number(i))
    assert outcome is CallbackRequest.requested
    assert queue_service.end_call(queue, sid) is EndOutcome.callback


@pytest.fixture
def line(queue_service: QueueService, support: QueueSettings) -> list[str]:
    """Four callers waiting; the second (caller_number(1)) asked for a callback and hung up."""
    sids = fill(queue_service, support, 4)
    ask_and_hang_up(queue_service, support, sids[1], 1)
    return sids


def test_asking_for_a_callback_keeps_the_place_and_nobody_behind_counts_one_more(
    queue_service: QueueService, support: QueueSettings
) -> None:
    sids = fill(queue_service, support, 4)
    before = [ahead(queue_service, support, sid) for sid in sids]
    outcome, people_ahead = queue_service.request_callback(support, sids[1], caller_number(1))
    assert (outcome, people_ahead) == (CallbackRequest.requested, 1)
    assert queue_service.end_call(support, sids[1]) is EndOutcome.callback
    after = [ahead(queue_service, support, sid) for sid in (sids[0], sids[2], sids[3])]
    assert after == [before[0], before[2], before[3]] == [0, 2, 3]
    # Hours later the place is still there: a callback is not a held place with a deadline.
    assert queue_service.position(support, sids[1]).state is CallState.unknown  # its call ended


def test_the_callback_is_offered_in_its_turn_neither_before_nor_after(
    queue_service: QueueService, support: QueueSettings, line: list[str], clock: Clock
) -> None:
    clock.advance(3600)
    available(queue_service, support, "alice")
    first = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert first is not None and (first.call_sid, first.is_callback) == (line[0], False)
    available(queue_service, support, "bob")
    second = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert second is not None and second.is_callback
    assert (second.call_sid, second.callback_number, second.agent_id) == (
        "",
        caller_number(1),
        "bob",
    )
    # While it rings the callback still counts ahead of those behind it.
    assert ahead(queue_service, support, line[2]) == 2
    assert queue_service.agent(support, "bob").state is AgentState.offered


def offer_callback(queue_service: QueueService, support: QueueSettings, line: list[str]) -> Offer:
    """Alice takes the first caller; the callback (second) is offered to bob."""
    available(queue_service, support, "alice")
    assert queue_service.dispatch(support, LEASE, CALLBACK_LEASE).call_sid == line[0]
    assert queue_service.connect(support, line[0], "alice") is not None
    available(queue_service, support, "bob")
    offer = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert offer is not None and offer.is_callback
    return offer


def test_a_failed_try_frees_the_agent_at_once_and_waits_the_pause_keeping_the_ticket(
    queue_service: QueueService, support: QueueSettings, line: list[str], clock: Clock
) -> None:
    offer = offer_callback(queue_service, support, line)
    outbound = new_call_sid()
    assert queue_service.callback_placed(support, offer.attempt, outbound) == line[1]
    # Reported twice (the worker, and the call's own first webhook): the same answer.
    assert queue_service.callback_placed(support, offer.attempt, outbound) == line[1]
    assert queue_service.callback_placed(support, offer.attempt, new_call_sid()) is None
    assert queue_service.agent(support, "bob").call_sid == outbound

    assert queue_service.callback_failed(support, offer.attempt, outbound) == (
        CallbackTry.retry,
        1,
    )
    assert queue_service.agent(support, "bob").state is AgentState.available
    # A repeated or late report of the same try changes nothing.
    assert queue_service.callback_failed(support, offer.attempt, outbound)[0] is (CallbackTry.stale)
    # During the pause the callers behind are served; the callback still counts ahead.
    assert ahead(queue_service, support, line[2]) == 1
    during = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert during is not None and during.call_sid == line[2]
    assert queue_service.offer_delivered(support, during.call_sid, "bob")  # bob's phone rings
    # After the pause it is ahead of everyone still waiting.
    clock.advance(support.callbacks.retry_after_seconds)
    available(queue_service, support, "carol")
    again = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert again is not None and (again.ticket, again.agent_id) == (offer.ticket, "carol")
    # The last caller's count never rose: the callback and the caller with bob were ahead
    # of them all along.
    assert ahead(queue_service, support, line[3]) == 2


def test_after_the_last_try_the_place_is_given_up_and_those_behind_move_up(
    queue_service: QueueService, support: QueueSettings, line: list[str], clock: Clock
) -> None:
    offer = offer_callback(queue_service, support, line)
    for attempt in range(1, support.callbacks.attempts + 1):
        outbound = new_call_sid()
        assert queue_service.callback_placed(support, offer.attempt, outbound)
        outcome, tries = queue_service.callback_failed(support, offer.attempt, outbound)
        assert tries == attempt
        if attempt < support.callbacks.attempts:
            assert outcome is CallbackTry.retry
            clock.advance(support.callbacks.retry_after_seconds)
            available(queue_service, support, "bob")
            offer = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
            assert offer is not None and offer.is_callback
        else:
            assert outcome is CallbackTry.given_up
    assert ahead(queue_service, support, line[2]) == 0
    assert queue_service.agent(support, "bob").state is AgentState.available
    # The number may ask again on a new call: nothing of the old callback is left.
    again = queue_service.take_slot(support, new_call_sid(), caller_number(1))
    assert again.outcome is SlotOutcome.new


def test_a_callback_twilio_would_not_place_counts_as_a_try(
    queue_service: QueueService, support: QueueSettings, line: list[str]
) -> None:
    offer = offer_callback(queue_service, support, line)
    assert queue_service.callback_failed(support, offer.attempt, "") == (CallbackTry.retry, 1)
    assert queue_service.agent(support, "bob").state is AgentState.available


def test_a_lapsed_lease_before_placing_frees_the_agent_and_waits_the_pause_uncounted(
    queue_service: QueueService, support: QueueSettings, line: list[str], clock: Clock
) -> None:
    """A worker that died between the offer and Twilio's answer: not the agent's doing. Its
    request may have reached Twilio, so the next try waits out the pause (any such call is
    over by then), but the try is not counted."""
    offer = offer_callback(queue_service, support, line)
    clock.advance(CALLBACK_LEASE + 1)
    assert queue_service.agent(support, "bob").state is AgentState.available
    during = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert during is not None and during.call_sid == line[2], "the callers behind meanwhile"
    # Too late now: the first offer's placing is refused (the app hangs that call up).
    assert queue_service.callback_placed(support, offer.attempt, new_call_sid()) is None
    clock.advance(support.callbacks.retry_after_seconds)
    available(queue_service, support, "carol")
    again = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert again is not None and (again.ticket, again.is_callback) == (offer.ticket, True)
    outbound = new_call_sid()
    assert queue_service.callback_placed(support, again.attempt, outbound) == line[1]
    assert queue_service.callback_failed(support, again.attempt, outbound)[1] == 1


def test_a_lapsed_lease_after_placing_counts_the_try_and_waits_the_pause(
    queue_service: QueueService, support: QueueSettings, line: list[str], clock: Clock
) -> None:
    """The outbound call's status was lost: it is surely over after the pause, so the next
    try never rings a phone that is still ringing."""
    offer = offer_callback(queue_service, support, line)
    outbound = new_call_sid()
    assert queue_service.callback_placed(support, offer.attempt, outbound)
    clock.advance(CALLBACK_LEASE + 1)
    assert queue_service.agent(support, "bob").state is AgentState.available
    assert queue_service.dispatch(support, LEASE, CALLBACK_LEASE).call_sid == line[2]
    assert queue_service.callback_failed(support, offer.attempt, outbound)[0] is (CallbackTry.stale)
    clock.advance(support.callbacks.retry_after_seconds)
    available(queue_service, support, "carol")
    assert queue_service.dispatch(support, LEASE, CALLBACK_LEASE).ticket == offer.ticket


def test_calling_in_with_a_callback_pending_takes_that_place_not_a_second(
    queue_service: QueueService, support: QueueSettings, line: list[str]
) -> None:
    back = new_call_sid()
    slot = queue_service.take_slot(support, back, caller_number(1))
    assert (slot.outcome, slot.people_ahead) == (SlotOutcome.callback_restored, 1)
    assert queue_service.position(support, back).state is CallState.waiting
    assert ahead(queue_service, support, line[3]) == 3
    # The callback is off: hanging up now holds the place like any drop.
    assert queue_service.end_call(support, back) is EndOutcome.held


def test_calling_in_while_being_called_back_gets_no_second_place(
    queue_service: QueueService, support: QueueSettings, line: list[str]
) -> None:
    offer = offer_callback(queue_service, support, line)
    queue_service.callback_placed(support, offer.attempt, new_call_sid())
    slot = queue_service.take_slot(support, new_call_sid(), caller_number(1))
    assert (slot.outcome, slot.ticket) == (SlotOutcome.callback_calling, offer.ticket)
    assert ahead(queue_service, support, line[3]) == 2


def test_a_caller_still_on_the_line_in_their_turn_is_simply_put_through(
    queue_service: QueueService, support: QueueSettings
) -> None:
    [sid] = fill(queue_service, support, 1)
    queue_service.request_callback(support, sid, caller_number(0))
    available(queue_service, support, "alice")
    offer = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert offer is not None and (offer.call_sid, offer.is_callback) == (sid, False)
    # Hanging up while alice's phone rings: the callback stands, alice is free.
    assert queue_service.end_call(support, sid) is EndOutcome.callback
    assert queue_service.agent(support, "alice").state is AgentState.available
    again = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert again is not None and again.is_callback and again.ticket == offer.ticket


def test_who_cannot_ask_for_a_callback(
    queue_service: QueueService, support: QueueSettings, operator_config: OperatorConfig
) -> None:
    regional = operator_config.queue_named("regional")
    sids = fill(queue_service, support, 2)
    assert queue_service.request_callback(support, new_call_sid(), caller_number(0))[0] is (
        CallbackRequest.unknown
    )
    queue_service.request_callback(support, sids[0], "+14155559999")
    assert queue_service.request_callback(support, sids[1], "+14155559999")[0] is (
        CallbackRequest.taken
    )
    choosing = new_call_sid()
    queue_service.take_slot(regional, choosing, "+66812345678")  # at the language menu
    assert queue_service.request_callback(regional, choosing, "+66812345678")[0] is (
        CallbackRequest.not_waiting
    )


def test_a_try_twilio_could_not_be_reached_for_is_not_counted(
    queue_service: QueueService, support: QueueSettings, line: list[str]
) -> None:
    offer = offer_callback(queue_service, support, line)
    assert queue_service.callback_failed(support, offer.attempt, "", counts=False) == (
        CallbackTry.again,
        0,
    )
    assert queue_service.agent(support, "bob").state is AgentState.available
    again = queue_service.dispatch(support, LEASE, CALLBACK_LEASE)
    assert again is not None and (again.ticket, again.agent_id) == (offer.ticket, "bob")
