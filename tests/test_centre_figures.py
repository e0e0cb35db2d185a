"""Today's figures on the operator page agree with a hand count over a scripted run of calls
through the webhooks: answered fast and slow, a short abandon, an abandon, a caller the
assistant helped, a callback asked for, and repeated status callbacks counted once."""

from __future__ import annotations

import pytest
import responses

from app.bootstrap import Services
from app.calls import CallRecord
from app.centre_figures import Tally, Today, counts_of
from app.figure_charts import HEIGHT, day_charts
from app.history import CallSummary, Outcome
from app.settings import QueueSettings
from standin import SimulatedCall, SimulatedTwilio
from tests.conftest import SUPPORT_NUMBER, Clock
from tests.test_agent_console import Console, put_through
from tests.test_handoff import dial_result


def update(services: Services, call: SimulatedCall, **fields: object) -> None:
    """What the dialogue (or the keypad menu) found out, as it would leave the record."""
    record = services.calls.get(call.sid)
    services.calls.save(record.model_copy(update=fields))


def answer_after(
    seconds: float,
    agent: str,
    number: str,
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    rest: responses.RequestsMock,
    **known: object,
) -> SimulatedCall:
    call = twilio.dial(number, SUPPORT_NUMBER)
    if known:
        update(services, call, **known)
    clock.advance(seconds)
    Console(app, agent).set_state("available")
    put_through(twilio, services, support, rest, call, agent)
    clock.advance(240)
    twilio.post(f"/voice/dial-result?agent={agent}", dial_result(call, "completed"))
    call.hang_up()
    return call


def test_the_figures_agree_with_a_hand_count_of_a_scripted_run(
    app,
    twilio: SimulatedTwilio,
    services: Services,
    support: QueueSettings,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    run = (app, twilio, services, support, clock, twilio_rest)
    quick = answer_after(
        10,
        "alice",
        "+14155550101",
        *run,
        reason="billing",
        verification="verified",
        first_announced_wait=300.0,
    )
    answer_after(60, "bob", "+14155550102", *run, reason="technical")

    short = twilio.dial("+14155550103", SUPPORT_NUMBER)
    clock.advance(3)
    short.hang_up()
    gave_up = twilio.dial("+14155550104", SUPPORT_NUMBER)
    clock.advance(40)
    gave_up.hang_up()

    helped = twilio.dial("+14155550105", SUPPORT_NUMBER)
    update(services, helped, reason="billing", dialogue={"resolved": True})
    services.queue.leave(support, helped.sid)
    update(services, helped, left_queue_at=clock())
    helped.hang_up()

    # Twilio repeats a status callback: nothing is counted twice.
    twilio.post("/voice/status", quick.base_params() | {"CallStatus": "completed"})

    carol = Console(app, "carol")
    today = carol.client.get("/operator/queues.json").get_json()["queues"][0]["today"]
    total = today["total"]
    # By hand: 5 calls; 2 answered after 10 and 60 s; 1 gone after 3 s (short), 1 after 40 s;
    # 1 left with the assistant's help; 1 verified; the quick one was told 5 minutes.
    assert (total["calls"], total["answered"], total["answered_in_target"]) == (5, 2, 1)
    assert total["average_speed_of_answer"] == pytest.approx(35)
    assert total["service_level"] == pytest.approx(1 / 3)  # 1 of 2 answered + 1 abandoned
    assert (total["abandoned"], total["abandoned_short"]) == (1, 1)
    assert total["abandonment_rate"] == pytest.approx(1 / 4)  # short abandons left out
    assert (total["resolved"], total["resolved_share"]) == (1, pytest.approx(1 / 5))
    assert total["verification_rate"] == pytest.approx(1 / 5)
    assert total["reasons"] == {"billing": 2, "technical": 1}
    assert total["wait_error"] == pytest.approx(290)
    assert today["service_level_target"] == {"answer_within_seconds": 20, "share": 0.8}
    # One language, and every call in the 10:00 interval (they began from 10:00 New York).
    assert set(today["by_language"]) == {"en-US"}
    assert today["by_language"]["en-US"] == total
    assert [(i["at"], i["calls"]) for i in today["intervals"]] == [("10:00", 5)]

    html = carol.client.get("/operator/live").get_data(as_text=True)
    assert '<dd class="fig-calls">5</dd>' in html
    assert '<dd class="fig-service-level missed">33%</dd>' in html
    assert "1 (25% of calls), and 1 short abandons counted apart" in html
    assert "A billing question 2" in html
    assert 'id="chart-calls"' in html and 'class="bar-abandoned"' in html


def test_a_later_call_lands_in_its_own_interval_and_callbacks_are_counted_apart(
    services: Services, support: QueueSettings, clock: Clock
) -> None:
    def summary(sid: str, outcome: Outcome, started: float) -> CallSummary:
        return CallSummary(
            call_sid=sid,
            queue="support",
            started_at=started,
            ended_at=started + 30,
            language="en-US",
            outcome=outcome,
        )

    first = CallRecord(call_sid="CA1", queue="support", language="en-US", started_at=clock())
    services.figures.record(support, first, summary("CA1", Outcome.callback_requested, clock()))
    later = clock() + 20 * 60
    leg = first.model_copy(update={"call_sid": "CA2", "callback_of": "CA1"})
    services.figures.record(support, leg, summary("CA2", Outcome.answered, later))
    services.figures.record(support, leg, summary("CA2", Outcome.answered, later))  # again

    today = services.figures.today(support, later)
    assert [(at, t.calls) for at, t in today.intervals] == [("10:00", 1), ("10:15", 0)]
    assert today.total.callbacks_requested == 1
    assert today.total.callbacks_completed == 1  # the callback itself is not a new call
    assert today.total.calls == 1


def test_a_callback_leg_that_missed_counts_only_as_not_reached(support: QueueSettings) -> None:
    leg = CallRecord(
        call_sid="CA2", queue="support", language="en-US", started_at=0, callback_of="CA1"
    )
    missed = CallSummary(
        call_sid="CA2",
        queue="support",
        started_at=0,
        ended_at=10,
        outcome=Outcome.callback_not_reached,
    )
    assert counts_of(support, leg, missed) == {"callbacks_not_reached": 1}


def test_the_charts_cover_every_interval_from_the_first_call_to_the_last() -> None:
    early = Tally(calls=4, answered=3, abandoned=1, answered_in_target=3)
    late = Tally(calls=2, answered=1, answered_in_target=0)
    today = Today(
        day="2026-11-25",
        answer_within_seconds=20,
        target=0.8,
        total=Tally(),
        by_language={},
        intervals=[("10:45", early), ("11:30", late)],
    )
    calls, level = day_charts(today)
    assert [label for _, label in calls.labels] == ["10:45", "11:00"]
    # 4 intervals (10:45 to 11:30); the busiest is the full height of the plot.
    assert len({bar.x for bar in calls.bars}) == 2
    answered = next(bar for bar in calls.bars if bar.kind == "answered")
    abandoned = next(bar for bar in calls.bars if bar.kind == "abandoned")
    assert answered.height + abandoned.height == pytest.approx(HEIGHT - 18)
    # Service level: 3 of 4 (answered + abandoned) missed 80%; 0 of 1 too.
    assert [bar.kind for bar in level.bars] == ["level-missed", "level-missed"]
    assert day_charts(Today("2026-11-25", 20, 0.8, Tally(), {}, [])) == []
