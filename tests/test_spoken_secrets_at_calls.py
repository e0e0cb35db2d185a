"""Secrets said aloud on a call: the transcript in Redis (what the agent's screen shows) and
the messages sent to the dialogue never hold them. A scripted stand-in for Rasa's REST
channel (the `responses` library) plays the verification form, so no Rasa is needed: the
words it receives are the words Rasa's tracker would keep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import responses

from app.calls import CallStore
from app.redaction import NOT_KEPT_SPOKEN
from app.settings import Settings
from standin import SimulatedTwilio
from tests.conftest import SUPPORT_NUMBER
from tests.sids import without_sids

MARIA = "+14155550101"
ACCOUNT = "10234567"


@dataclass
class ScriptedDialogue:
    """The app's channel of Rasa (dialogue/channels.py): each message gets the next scripted
    replies, with that step's slots."""

    steps: list[tuple[list[dict[str, Any]], dict[str, Any]]]
    received: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    def message(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.received.append(json.loads(request.body)["message"])
        replies, self.slots = self.steps.pop(0) if self.steps else ([], self.slots)
        return 200, {}, json.dumps({"messages": replies, "slots": self.slots, "intent": {}})


ASK_ACCOUNT = [{"text": "Sure. What's your account number?", "custom": {"expect": "digits"}}]
ASK_PIN = [
    {
        "text": "Please key in your 4 digit PIN, then press hash.",
        "custom": {"collect_secret": "pin", "account_number": ACCOUNT},
    }
]
ASKING_ACCOUNT = {"reason": "billing", "requested_slot": "account_number"}
ASKING_SECRET = {"reason": "billing", "account_number": ACCOUNT, "requested_slot": "verification"}


@pytest.fixture
def dialogue(settings: Settings) -> Iterator[ScriptedDialogue]:
    script = ScriptedDialogue(
        steps=[
            (ASK_ACCOUNT, ASKING_ACCOUNT),
            (ASK_PIN, ASKING_SECRET),
            # Whatever the caller says while the form waits for the secret, it asks again.
            (ASK_PIN, ASKING_SECRET),
        ]
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rasa:
        rasa.add_callback(
            responses.POST, f"{settings.rasa_url}/webhooks/rest_state/webhook", script.message
        )
        yield script


def _kept(redis_client: redis.Redis, call_sid: str) -> str:
    """Everything Redis holds about the call, as text (its id left out)."""
    calls = CallStore(redis_client)
    record = calls.get(call_sid)
    assert record is not None
    transcript = " | ".join(entry.text for entry in calls.transcript(call_sid))
    return without_sids(f"{record.model_dump_json()} | {transcript}")


def test_the_issues_sentence_is_neither_kept_nor_sent_and_the_account_number_is(
    twilio: SimulatedTwilio, dialogue: ScriptedDialogue, redis_client: redis.Redis
) -> None:
    call = twilio.dial(MARIA, SUPPORT_NUMBER)
    call.say("hi my pin's 9090 and my birthday is january 1st 1968")
    assert "account number" in call.heard[-1]
    call.say(f"it's {ACCOUNT}")
    assert "key in your 4 digit PIN" in call.heard[-1]

    kept = _kept(redis_client, call.sid)
    sent = " | ".join(dialogue.received)
    for secret in ("9090", "1968", "1st"):
        assert secret not in kept
        assert secret not in sent
    assert "hi my pin's [redacted] and my birthday is [redacted]" in kept
    # The account number is the identifier the dialogue needs: it is kept and sent.
    assert ACCOUNT in kept
    assert dialogue.received[-1] == f"it's {ACCOUNT}"


def test_a_pin_said_aloud_while_the_dialogue_waits_for_it_is_not_kept(
    twilio: SimulatedTwilio, dialogue: ScriptedDialogue, redis_client: redis.Redis
) -> None:
    call = twilio.dial(MARIA, SUPPORT_NUMBER)
    call.say("i have a question about my bill")
    call.say(ACCOUNT)
    assert "key in your 4 digit PIN" in call.heard[-1]
    # At the secret prompt the caller says it instead of keying it (the keypad prompt does
    # not listen for speech): asked again, then back to waiting, the form still waiting.
    for _ in range(3):
        call.stay_silent()
    call.press("1")
    mark = len(call.heard)
    call.say("oh sorry, it's four eight two one", confidence=0.9)
    # No word of it to keep: the dialogue asks for it on the keypad again.
    assert "key in your 4 digit PIN" in call.heard_since(mark)

    kept = _kept(redis_client, call.sid)
    assert "four eight two one" not in kept
    assert "four" not in dialogue.received[-1]
    assert dialogue.received[-1] == "oh sorry, it's [redacted]"
    transcript = CallStore(redis_client).transcript(call.sid)
    said = [entry for entry in transcript if entry.speaker == "caller" and entry.input == "speech"]
    assert said[-1].text == NOT_KEPT_SPOKEN
    assert said[-1].confidence == 0.9


@pytest.mark.parametrize(
    "words",
    [
        "4821 is my pin",
        "pin, um, 4821",
        "my date of birth is the first of january nineteen sixty eight",
        "my zip is 90210",
        "รหัสของผมคือ 4821",
        "ລະຫັດຂອງຂ້ອຍແມ່ນ 4821",
        "pin saya empat delapan dua satu",
        "我的密码是四八二一",
    ],
)
def test_secrets_said_at_the_greeting_never_reach_redis_or_the_dialogue(
    twilio: SimulatedTwilio, dialogue: ScriptedDialogue, redis_client: redis.Redis, words: str
) -> None:
    call = twilio.dial(MARIA, SUPPORT_NUMBER)
    call.say(words)
    kept = _kept(redis_client, call.sid)
    for secret in ("4821", "90210", "sixty", "四八二一", "empat"):
        assert secret not in kept
        assert secret not in " | ".join(dialogue.received)
    assert "[redacted]" in kept
