"""The first wait estimator and how its result is spoken."""

from __future__ import annotations

import pytest

from app import speech
from app.queue_service import AgentState, QueueService
from app.settings import OperatorConfig, QueueSettings
from app.voice_reply import Say
from app.wait_estimate import estimate_wait_seconds
from standin import SimulatedTwilio, new_call_sid
from tests.conftest import SUPPORT_NUMBER, Clock
from tests.test_queue_rules import offer_head


def test_no_recent_conversations_means_no_number() -> None:
    assert estimate_wait_seconds(3, [], agents_working=4, min_samples=3) is None
    assert estimate_wait_seconds(3, [200, 300], agents_working=4, min_samples=3) is None


def test_no_agent_working_means_no_number() -> None:
    assert estimate_wait_seconds(3, [200, 300, 400], agents_working=0, min_samples=3) is None


def test_wait_grows_with_people_ahead_and_falls_with_agents() -> None:
    handle = [240.0, 300.0, 360.0]  # mean 300 s
    assert estimate_wait_seconds(0, handle, agents_working=2, min_samples=3) == 150
    assert estimate_wait_seconds(3, handle, agents_working=2, min_samples=3) == 600
    assert estimate_wait_seconds(3, handle, agents_working=4, min_samples=3) == 300


def test_negative_people_ahead_is_a_bug() -> None:
    with pytest.raises(ValueError):
        estimate_wait_seconds(-1, [1, 2, 3], agents_working=1, min_samples=1)


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(61, 1), (89, 1), (91, 2), (600, 10), (629, 10), (700, 10), (780, 15), (1490, 25)],
)
def test_minutes_are_rounded_the_way_people_say_them(seconds: float, minutes: int) -> None:
    assert speech.spoken_minutes(seconds) == minutes


def test_wait_sentences(operator_config: OperatorConfig) -> None:
    lang = operator_config.language("en-US")
    assert speech.wait_sentence(lang, "en-US", None) == Say("I can't estimate the wait yet.")
    assert speech.wait_sentence(lang, "en-US", 45) == Say("The wait should be less than a minute.")
    assert speech.wait_sentence(lang, "en-US", 70) == Say("The wait is about 1 minute.")
    assert speech.wait_sentence(lang, "en-US", 330) == Say("The wait is about 6 minutes.")


def test_plural_forms_follow_the_language(operator_config: OperatorConfig) -> None:
    prompt = operator_config.language("en-US").prompts.people_ahead
    assert speech.plural(prompt, 0, "en-US") == prompt.zero
    assert speech.plural(prompt, 1, "en-US") == prompt.one
    assert speech.plural(prompt, 2, "en-US") == prompt.other
    # Thai has no grammatical number: one caller ahead uses the general form.
    assert speech.plural(prompt, 1, "th-TH") == prompt.other


def test_an_estimate_from_real_queue_data_is_announced(
    twilio: SimulatedTwilio, queue_service: QueueService, support: QueueSettings, clock: Clock
) -> None:
    """Five callers were answered; three of those conversations ended after 4 minutes and
    two agents are still busy: a caller with three people ahead hears (3 + 1) x 240 s / 2,
    8 minutes."""
    answered = []
    for i in range(5):
        queue_service.take_slot(support, new_call_sid(), f"+1415555000{i}")
        offer = offer_head(queue_service, support, f"agent-{i}", lease_seconds=30)
        assert offer is not None
        queue_service.connect(support, offer.call_sid, f"agent-{i}")
        answered.append(offer.call_sid)
    clock.advance(240)
    for i, sid in enumerate(answered[:3]):
        queue_service.end_call(support, sid)
        queue_service.set_agent_state(support, f"agent-{i}", AgentState.away)  # off shift
    for i in range(3):
        queue_service.take_slot(support, new_call_sid(), f"+1415555100{i}")
    call = twilio.dial("+14155552000", SUPPORT_NUMBER)
    assert "There are 3 people ahead of you." in call.heard
    assert "The wait is about 8 minutes." in call.heard
