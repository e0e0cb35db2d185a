"""End to end in every language of the regional line: the whole stack (gunicorn, an RQ
worker, the Twilio stand-in, the real Redis and Rasa). A caller chooses their language on
the keypad, hears the greeting, place and wait in it (Lao played from recordings), says why
they call in it, is verified, and is put through to an agent who speaks it, who hears the
whisper in their own language and sees the caller's language and words on the screen pop.

The expected sentences come from the operator's YAML, so a translation can change without
this test changing; what the caller says is written as callers of each language say it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from app.agents import AgentDirectory
from app.calls import CallStore
from app.settings import DEMO_DIR, QUEUE_DIR, LanguageSettings, load_operator_config
from app.speech import sentence
from tests.full_stack import AgentBrowser, FullStack, demo_stack
from tests.rasa_stack import RASA_TOKEN, RasaStack
from tests.sids import without_sids

pytestmark = pytest.mark.e2e

REGIONAL_NUMBER = "+6621234567"
HAND_OFF_TIMEOUT = 30
CONFIG = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")


@dataclass(frozen=True)
class Caller:
    language: str
    phone: str
    account: str
    pin: str
    name: str
    reason: str  # why they call (a billing question), as they say it
    yes: str  # yes to "shall I verify you now?"
    script: str  # a character class of the language's script
    agent: str  # who takes the call (speaks the language)


CALLERS = [
    Caller(
        "th-TH",
        "+66812345678",
        "50123456",
        "1357",
        "Somsak Wongsakul",
        "บิลเดือนนี้แพงผิดปกติค่ะ อยากสอบถามหน่อย",
        "ได้ค่ะ",
        "[\u0e00-\u0e7f]",
        "somchai",
    ),
    Caller(
        "lo-LA",
        "+8562055512345",
        "50234567",
        "2580",
        "Khamla Phommachanh",
        "ຂ້ອຍຢາກຖາມກ່ຽວກັບໃບບິນເດືອນນີ້ເຈົ້າ",
        "ໄດ້ເຈົ້າ",
        "[\u0e80-\u0eff]",
        "khamla",
    ),
    Caller(
        "id-ID",
        "+628123456789",
        "50345678",
        "3690",
        "Dewi Lestari",
        "mbak saya mau tanya soal tagihan bulan ini kok mahal banget",
        "iya boleh",
        "[a-z]",
        "dewi",
    ),
    Caller(
        "cmn-Hant-TW",
        "+886912345678",
        "50456789",
        "4826",
        "Lin Mei-hua",
        "我想問一下這個月的帳單怎麼這麼貴",
        "好啊",
        "[\u4e00-\u9fff]",
        "mei",
    ),
    Caller(
        "cmn-Hans-CN",
        "+8613812345678",
        "50567890",
        "5173",
        "Wang Fang",
        "我想问一下这个月的账单怎么这么贵",
        "好的",
        "[\u4e00-\u9fff]",
        "mei",
    ),
]


@pytest.fixture
def stack(
    redis_client: redis.Redis, redis_url: str, rasa_stack: RasaStack, tmp_path: Path
) -> Iterator[FullStack]:
    # (redis_client: an empty database for each test.)
    with demo_stack(redis_url, rasa_stack.url, RASA_TOKEN, tmp_path) as full:
        yield full


def said(lang: LanguageSettings, prompt: str, **values: object) -> str:
    """What a prompt sounds like (its text, or a recording's transcript), filled in."""
    return sentence(lang, getattr(lang.prompts, prompt), **values).text


@pytest.mark.parametrize("caller", CALLERS, ids=[c.language for c in CALLERS])
def test_a_caller_is_served_in_their_language_from_the_menu_to_the_agent(
    stack: FullStack, redis_client: redis.Redis, caller: Caller
) -> None:
    queue = CONFIG.queue_named("regional")
    lang = CONFIG.language(caller.language)
    key = str(queue.languages.index(caller.language) + 1)
    with stack.control() as control:
        control.set_phone(f"client:{caller.agent}", "after 1s")
        call = control.place_call(caller.phone, REGIONAL_NUMBER)
        # The place is taken, then each language is offered in its own words.
        menu = call.heard_since(0)
        for code in queue.languages:
            option = CONFIG.language(code).prompts.language_option
            assert option is not None
            key_number = queue.languages.index(code) + 1
            # As composed for the call (Lao: the key said from its number clip).
            assert sentence(CONFIG.language(code), option, key=key_number).text in menu

        mark = call.mark
        call.press(key)
        greeting = call.heard_since(mark)
        assert said(lang, "greeting", company=CONFIG.operator.company) in greeting
        assert said(lang, "place_guaranteed") in greeting
        assert lang.prompts.people_ahead.zero is not None
        assert sentence(lang, lang.prompts.people_ahead.zero).text in greeting  # nobody ahead

        mark = call.mark
        call.say(caller.reason)
        answer = call.heard_since(mark)
        assert re.search(caller.script, answer), answer  # the assistant answers in it
        call.say(caller.yes)
        call.press(f"{caller.account}#")
        call.press(f"{caller.pin}#")

        agent = AgentBrowser(stack.web, caller.agent, f"{caller.agent}-demo-password")
        try:
            agent.go("available")
            call.wait_for("with_agent", HAND_OFF_TIMEOUT)
            assert call.with_agent == f"client:{caller.agent}"
            # The whisper is in the agent's own (first) language.
            agents_lang = CONFIG.language(_first_language(caller.agent))
            reason = agents_lang.reason_names["billing"].text
            whisper = " ".join(call.agent["heard"])
            assert said(agents_lang, "whisper_reason", reason=reason) in whisper
            # (A recorded whisper cannot say a name: Lao's says "verified" without it.)
            assert said(agents_lang, "whisper_verified", name=caller.name) in whisper
            pop = agent.screen_pop(call.sid)
            assert f"({caller.language})" in pop
            assert 'data-reason="billing">' in pop
            assert reason[:1].upper() + reason[1:] in pop
            assert "Verified by pin" in pop
            assert caller.pin not in without_sids(pop)
            # What the caller said, in their own script.
            kept = [e.text for e in CallStore(redis_client).transcript(call.sid)]
            assert caller.reason in kept
            assert caller.reason in pop
            call.agent_hang_up()
            call.wait_for("ended", HAND_OFF_TIMEOUT)
        finally:
            agent.close()


def _first_language(agent_id: str) -> str:
    agent = AgentDirectory.from_file(DEMO_DIR / "agents.yml", CONFIG).get(agent_id)
    assert agent is not None
    return agent.whisper_language
