"""The wait estimator (a pure function of a snapshot), how its result is spoken, and the
snapshot the app reads from Redis for it."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from app import speech
from app.queue_service import AgentState, QueueService
from app.queue_wait_estimate import LINE_REUSE_SECONDS, estimate_for, snapshot_for
from app.settings import OperatorConfig, QueueSettings
from app.voice_reply import Say
from app.wait_announcement import AnnouncedKind, announce, changed_materially, spoken_minutes
from app.wait_estimate import (
    BusyAgent,
    WaitEstimate,
    WaitSnapshot,
    abandonment_rate,
    estimate_line,
    estimate_wait,
)
from standin import SimulatedTwilio, new_call_sid
from tests.conftest import SUPPORT_NUMBER, Clock
from tests.test_queue_rules import offer_head

NOW = 1_000_000.0
UTC = ZoneInfo("UTC")
VARIED_TALK = (120.0, 180.0, 240.0, 300.0, 360.0, 420.0, 600.0, 900.0)


def snap(**fields: object) -> WaitSnapshot:
    base: dict[str, object] = {"now": NOW, "people_ahead": 0, "agents_free": 0}
    return WaitSnapshot(**(base | fields))  # type: ignore[arg-type]


def median(**fields: object) -> float:
    estimate = estimate_wait(snap(**fields))
    assert estimate is not None
    return estimate.median


def test_too_few_finished_conversations_means_no_number() -> None:
    assert estimate_wait(snap(agents_free=2, talk_times=(200.0, 300.0))) is None


def test_nobody_serving_the_language_means_no_number() -> None:
    assert estimate_wait(snap(people_ahead=3, talk_times=VARIED_TALK)) is None


def test_a_free_agent_and_nobody_ahead_means_no_wait() -> None:
    """The old rule told this caller a full handle time divided by the agents."""
    assert median(agents_free=1, busy=(BusyAgent(NOW - 30),), talk_times=VARIED_TALK) == 0


def test_with_fixed_call_lengths_the_replay_is_exact_arithmetic() -> None:
    """One agent 100 s into a 300 s call, two callers ahead: 200 + 300 + 300 seconds."""
    estimate = estimate_wait(
        snap(people_ahead=2, busy=(BusyAgent(NOW - 100),), talk_times=(300.0,) * 5)
    )
    assert estimate == WaitEstimate(median=800, low=800, high=800)


def test_wrap_ups_count_as_time_the_agent_is_not_free() -> None:
    wrapping = BusyAgent(NOW - 20, wrapping_up=True)
    assert (
        median(busy=(wrapping,), talk_times=(300.0,) * 5, wrap_times=(60.0,) * 5, people_ahead=1)
        == 40 + 360
    )


def test_the_wait_grows_with_people_ahead_and_falls_with_agents() -> None:
    def busy(n: int) -> tuple[BusyAgent, ...]:
        return tuple(BusyAgent(NOW - 60 * i) for i in range(n))

    waits = [median(people_ahead=a, busy=busy(3), talk_times=VARIED_TALK) for a in (0, 4, 12)]
    assert waits == sorted(waits) and waits[0] < waits[-1]
    assert median(people_ahead=6, busy=busy(6), talk_times=VARIED_TALK) < waits[1]


def test_a_busy_agent_frees_up_by_what_is_left_of_calls_like_theirs() -> None:
    """A mean handle time cannot tell an agent who just answered from one near the end;
    the lengths of recent calls can. When calls all last about 5 minutes, one 290 s in
    ends soon; when some calls are long, one that has run past the short ones is probably
    a long one."""
    regular = (280.0, 290.0, 300.0, 310.0, 320.0)
    fresh = median(busy=(BusyAgent(NOW - 5),), talk_times=regular)
    nearly_done = median(busy=(BusyAgent(NOW - 290),), talk_times=regular)
    assert nearly_done <= 30 < 275 <= fresh
    mixed = (120.0, 120.0, 120.0, 900.0, 900.0)
    assert median(busy=(BusyAgent(NOW - 60),), talk_times=mixed) == 60
    assert median(busy=(BusyAgent(NOW - 200),), talk_times=mixed) == 700


def test_callers_ahead_who_are_likely_to_hang_up_shorten_the_wait() -> None:
    common = {"people_ahead": 10, "busy": (BusyAgent(NOW),), "talk_times": (300.0,) * 5}
    patient = median(**common, waited_seconds=20 * 600.0)
    impatient = median(**common, waited_seconds=10 * 600.0 + 10 * 60.0, abandoned=10)
    assert patient == 11 * 300
    assert impatient < patient / 2


def test_the_abandonment_rate_counts_exposure_of_answered_callers_too() -> None:
    assert abandonment_rate(0, 0) == 0
    assert abandonment_rate(200.0, 0) == 0
    assert abandonment_rate(300.0 + 100.0, 1) == pytest.approx(1 / 400)


def test_the_same_snapshot_gives_the_same_estimate() -> None:
    fields = {"people_ahead": 5, "busy": (BusyAgent(NOW - 50),) * 2, "talk_times": VARIED_TALK}
    assert estimate_wait(snap(**fields)) == estimate_wait(snap(**fields))


def test_a_negative_count_is_a_bug() -> None:
    with pytest.raises(ValueError):
        snap(people_ahead=-1)
    with pytest.raises(ValueError):
        snap(agents_free=-1)


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(61, 1), (89, 1), (91, 2), (600, 10), (629, 10), (700, 10), (780, 15), (1490, 25)],
)
def test_minutes_are_rounded_the_way_people_say_them(seconds: float, minutes: int) -> None:
    assert spoken_minutes(seconds) == minutes


def test_announcements() -> None:
    under = announce(WaitEstimate(40, 0, 90))
    assert (under.kind, under.seconds) == (AnnouncedKind.under_a_minute, 40)
    about = announce(WaitEstimate(330, 240, 420))
    assert (about.kind, about.minutes, about.seconds) == (AnnouncedKind.about, 6, 360)
    wide = announce(WaitEstimate(600, 240, 1200))
    assert (wide.kind, wide.low, wide.high, wide.minutes) == (AnnouncedKind.range, 4, 20, 10)
    # Wide for a long wait is not wide enough for a range: 40 +- 5 minutes is "about 40".
    assert announce(WaitEstimate(2400, 2100, 2700)).kind is AnnouncedKind.about


def test_a_new_estimate_is_announced_only_when_it_moved_materially() -> None:
    assert changed_materially(None, 300)
    assert changed_materially(300, None)
    assert not changed_materially(None, None)
    assert not changed_materially(300, 330)  # 5 vs 6 minutes: too small a move to repeat
    assert changed_materially(300, 420)
    assert not changed_materially(20, 50)  # both "less than a minute"
    assert not changed_materially(1500, 1700)  # both "about 25 minutes"... and 28: 30
    assert changed_materially(1500, 1900)


def test_wait_sentences(operator_config: OperatorConfig) -> None:
    lang = operator_config.language("en-US")
    assert speech.wait_sentence(lang, "en-US", None) == Say("I can't estimate the wait yet.")
    assert speech.wait_sentence(lang, "en-US", WaitEstimate(45, 0, 60)) == Say(
        "The wait should be less than a minute."
    )
    assert speech.wait_sentence(lang, "en-US", WaitEstimate(70, 60, 80)) == Say(
        "The wait is about 1 minute."
    )
    assert speech.wait_sentence(lang, "en-US", WaitEstimate(330, 300, 360)) == Say(
        "The wait is about 6 minutes."
    )
    assert speech.wait_sentence(lang, "en-US", WaitEstimate(600, 240, 1200)) == Say(
        "The wait is likely between 4 and 20 minutes."
    )


def test_every_language_can_say_a_range(operator_config: OperatorConfig) -> None:
    for code, lang in operator_config.operator.languages.items():
        said = speech.wait_sentence(lang, code, WaitEstimate(600, 240, 1200))
        if said.recording:  # Lao: built from clips, the numbers from its number clips
            assert any(url.endswith("/numbers/4.wav") for url in said.recording)
            assert any(url.endswith("/numbers/20.wav") for url in said.recording)
        else:
            assert "4" in said.text and "20" in said.text, code


def test_plural_forms_follow_the_language(operator_config: OperatorConfig) -> None:
    prompt = operator_config.language("en-US").prompts.people_ahead
    assert speech.plural(prompt, 0, "en-US") == prompt.zero
    assert speech.plural(prompt, 1, "en-US") == prompt.one
    assert speech.plural(prompt, 2, "en-US") == prompt.other
    # Thai has no grammatical number: one caller ahead uses the general form.
    assert speech.plural(prompt, 1, "th-TH") == prompt.other


def answer(queue_service: QueueService, queue: QueueSettings, agent: str) -> str:
    queue_service.take_slot(queue, sid := new_call_sid(), f"+1415555{agent[-4:]}")
    offer = offer_head(queue_service, queue, agent, lease_seconds=30)
    assert offer is not None and offer.call_sid == sid
    queue_service.connect(queue, sid, agent)
    return sid


def test_the_snapshot_records_what_the_estimate_learns_from(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    """Talk times when calls end, wrap-ups when agents are free again (not when they go
    away), waits of answered callers and of callers who hung up first."""
    gone = new_call_sid()
    queue_service.take_slot(support, gone, "+14155550999")
    clock.advance(45)
    queue_service.end_call(support, gone)  # hung up after 45 s: the place is held, and noted
    first = answer(queue_service, support, "agent-0001")
    second = answer(queue_service, support, "agent-0002")
    clock.advance(200)
    queue_service.end_call(support, first)
    queue_service.end_call(support, second)
    clock.advance(30)
    queue_service.set_agent_state(support, "agent-0001", AgentState.available)
    queue_service.set_agent_state(support, "agent-0002", AgentState.away)
    snapshot = queue_service.snapshot(support)
    assert snapshot.handle_times == [200, 200]
    assert snapshot.wrap_times == [30]
    # Waited: 45 s by the caller who hung up, 0 by the two answered at once.
    assert (snapshot.waited_seconds, snapshot.abandoned) == (45, 1)
    assert snapshot.taken_at == clock()

    # Past the window, the newest talk times and wrap-ups are still used (a small team
    # finishes few calls in it); the waits go with the patience window (kept by the 5
    # minutes, so they go within 5 minutes of its end).
    clock.advance(support.patience_window_seconds + 300)
    later = queue_service.snapshot(support)
    assert (later.handle_times, later.wrap_times) == ([200, 200], [30])
    assert (later.waited_seconds, later.abandoned) == (0, 0)


def test_the_app_announces_what_the_estimator_says_for_its_snapshot(
    twilio: SimulatedTwilio,
    queue_service: QueueService,
    support: QueueSettings,
    clock: Clock,
    operator_config: OperatorConfig,
) -> None:
    """Five callers were answered; three of those conversations ended after 4 minutes and
    their agents went off shift, two are still talking: a new caller with three people
    ahead hears the estimate of exactly that snapshot."""
    answered = [answer(queue_service, support, f"agent-000{i}") for i in range(5)]
    clock.advance(240)
    for i, sid in enumerate(answered[:3]):
        queue_service.end_call(support, sid)
        queue_service.set_agent_state(support, f"agent-000{i}", AgentState.away)
    for i in range(3):
        queue_service.take_slot(support, new_call_sid(), f"+1415555100{i}")
    expected = WaitSnapshot(
        now=clock(),
        people_ahead=3,
        agents_free=0,
        busy=(BusyAgent(clock() - 240), BusyAgent(clock() - 240)),
        talk_times=(240.0, 240.0, 240.0),
    )
    assert snapshot_for(queue_service.snapshot(support), support, 3, None, UTC) == expected
    call = twilio.dial("+14155552000", SUPPORT_NUMBER)
    assert "There are 3 people ahead of you." in call.heard
    # The app estimates the whole line at once (now 4 long, with this caller) and reads
    # this caller's position from it.
    line = estimate_line(replace(expected, people_ahead=4))
    assert line is not None
    said = speech.wait_sentence(operator_config.language("en-US"), "en-US", line.at(3))
    assert said.text in call.heard


def test_a_line_s_estimates_are_those_of_each_position_alone() -> None:
    """One replay passes every position: the line's estimate at a position is the one a
    caller there gets alone, from the same random draws."""
    fields = {"busy": (BusyAgent(NOW - 50),) * 3, "talk_times": VARIED_TALK}
    line = estimate_line(snap(people_ahead=9, **fields))
    alone = estimate_wait(snap(people_ahead=9, **fields))
    assert line is not None and line.at(9) == alone
    medians = [estimate.median for p in range(10) if (estimate := line.at(p))]
    assert medians == sorted(medians) and len(medians) == 10
    with pytest.raises(ValueError):
        line.at(10)


def test_the_app_reuses_a_line_s_estimates_only_while_the_queue_is_unchanged(
    queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    for i in range(5):
        sid = answer(queue_service, support, f"agent-000{i}")
        clock.advance(100 + 60 * i)
        queue_service.end_call(support, sid)
    for i in range(4):
        queue_service.take_slot(support, new_call_sid(), f"+1415555100{i}")
    first = estimate_for(queue_service.snapshot(support), support, 2, None, UTC)
    clock.advance(3)
    assert estimate_for(queue_service.snapshot(support), support, 2, None, UTC) is first
    # An agent went away: computed afresh at once.
    queue_service.set_agent_state(support, "agent-0004", AgentState.away)
    changed = estimate_for(queue_service.snapshot(support), support, 2, None, UTC)
    assert changed is not first
    clock.advance(LINE_REUSE_SECONDS + 1)
    assert estimate_for(queue_service.snapshot(support), support, 2, None, UTC) is not changed


def test_the_wait_loop_repeats_the_wait_only_when_it_moved_materially(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    """Calls last 10 minutes; one agent is on a call that just began, one caller waits
    ahead: 10 + 10 minutes. A minute later "about 19" would be said as 20 again (and moved
    less than a fifth): only music. Five minutes on, "about 15 minutes" is news."""
    for i in range(5):
        sid = answer(queue_service, support, f"agent-000{i}")
        clock.advance(600)
        queue_service.end_call(support, sid)
        queue_service.set_agent_state(support, f"agent-000{i}", AgentState.away)
    answer(queue_service, support, "agent-0009")
    twilio.dial("+14155550100", SUPPORT_NUMBER)
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    assert "The wait is about 20 minutes." in call.heard
    call.stay_silent()
    mark = len(call.heard)
    clock.advance(support.announce_every_seconds)
    call.stay_silent()
    assert "The wait" not in call.heard_since(mark)
    clock.advance(240)
    call.stay_silent()
    assert "The wait is about 15 minutes." in call.heard_since(mark)


def test_the_abandonment_sums_stay_small_whatever_the_traffic(
    queue_service: QueueService, support: QueueSettings, clock: Clock, redis_client
) -> None:
    """Two sums per 5 minutes, not a record per caller; older than the window, dropped."""
    for _ in range(60):
        sid = new_call_sid()
        queue_service.take_slot(support, sid, "")  # withheld: released on hanging up
        clock.advance(10)
        queue_service.end_call(support, sid)
    key = "cq:{support}:patience"
    assert redis_client.hlen(key) <= 6  # 10 minutes: 2 or 3 buckets, 2 fields each
    snapshot = queue_service.snapshot(support)
    assert (snapshot.waited_seconds, snapshot.abandoned) == (600, 60)
    clock.advance(support.patience_window_seconds + 300)
    queue_service.snapshot(support)
    assert redis_client.hlen(key) == 0
