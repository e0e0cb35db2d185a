"""Hand-off on a number with several languages: a caller reaches only an agent who speaks
their language, the whisper is in the agent's own language and names the caller's, and the
console shows the caller's language and their words in their own script."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import responses
import yaml
from flask import Flask

from app import create_app
from app.agents import AgentDirectory, hash_password
from app.bootstrap import Services
from app.calls import TranscriptEntry
from app.queue_service import AgentState
from app.settings import Settings, SettingsError, load_operator_config
from standin import FlaskClientTransport, SimulatedTwilio
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, SUPPORT_NUMBER, Clock
from tests.language_config import TH, ZH, multilingual_settings, write_multilingual_files
from tests.test_agent_console import sign_in
from tests.test_handoff import agent_leg, redirected_to, says

PASSWORD = "language-test-password"
# As the recogniser writes them: Traditional characters, full-width punctuation.
MANDARIN_WORDS = "我的網路斷了，路由器一直閃紅燈"  # noqa: RUF001
AGENTS = {
    "alice": ["en-US", "cmn-Hant-TW"],  # hears the whisper in English
    "somchai": ["th-TH", "en-US"],  # hears it in Thai
}


@pytest.fixture
def ml_app(
    settings: Settings, clock: Clock, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[Flask]:
    agents_file = tmp_path / "agents.yml"
    agents = [
        {
            "id": agent,
            "name": agent.title(),
            "queue": "support",
            "languages": languages,
            "password_hash": hash_password(PASSWORD),
            "reach": {"client": agent},
        }
        for agent, languages in AGENTS.items()
    ]
    agents_file.write_text(yaml.safe_dump({"agents": agents}))
    multilingual = multilingual_settings(settings, tmp_path, agents_file=agents_file)
    app = create_app({"SETTINGS": multilingual, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["queue_assistant"].close()


@pytest.fixture
def ml(ml_app: Flask) -> Services:
    return ml_app.extensions["queue_assistant"]


@pytest.fixture
def caller(ml_app: Flask) -> SimulatedTwilio:
    transport = FlaskClientTransport(ml_app.test_client())
    return SimulatedTwilio(transport, PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)


def available(ml: Services, agent_id: str) -> None:
    agent = ml.agents.get(agent_id)
    assert ml.agent_desk.set_state(agent, AgentState.available) is not None


def answer(caller: SimulatedTwilio, call, rest: responses.RequestsMock, agent_id: str) -> str:
    """Twilio runs the connect document, and the agent answers: the whisper's document."""
    caller.post(redirected_to(rest)[call.sid], call.base_params())
    status, whisper = caller.post(
        f"/voice/whisper?agent={agent_id}", agent_leg(call, f"client:{agent_id}")
    )
    assert status == 200
    return whisper


def test_a_thai_caller_reaches_the_thai_speaker_and_the_whisper_is_in_thai(
    caller: SimulatedTwilio,
    ml: Services,
    clock: Clock,
    twilio_rest: responses.RequestsMock,
) -> None:
    call = caller.dial("+66812345678", SUPPORT_NUMBER)
    call.press("2")
    ml.calls.save(ml.calls.get(call.sid).model_copy(update={"reason": "technical"}))
    available(ml, "alice")  # free first, but speaks no Thai
    clock.advance(5)
    available(ml, "somchai")
    clock.advance(180)
    offers = ml.dispatcher.dispatch(ml.config.queue_named("support"))
    assert [(o.call_sid, o.agent_id) for o in offers] == [(call.sid, "somchai")]
    assert says(answer(caller, call, twilio_rest, "somchai")) == [
        "ลูกค้ายังไม่ได้ยืนยันตัวตน",
        "โทรมาเรื่องปัญหาทางเทคนิค",
        "รอสาย 3 นาที",
        "ลูกค้าพูดภาษาไทย",
    ]


def test_a_mandarin_caller_s_whisper_is_in_the_agent_s_english(
    caller: SimulatedTwilio, ml: Services, twilio_rest: responses.RequestsMock
) -> None:
    call = caller.dial("+886912345678", SUPPORT_NUMBER)
    call.press("3")
    available(ml, "somchai")  # no Mandarin
    available(ml, "alice")
    offers = ml.dispatcher.dispatch(ml.config.queue_named("support"))
    assert [o.agent_id for o in offers] == ["alice"]
    whisper = answer(caller, call, twilio_rest, "alice")
    assert says(whisper)[-1] == "Speaks Mandarin (Taiwan)."
    assert "Caller not verified." in says(whisper)


def test_the_console_shows_the_caller_s_language_and_their_words_in_their_script(
    caller: SimulatedTwilio,
    ml: Services,
    ml_app: Flask,
    twilio_rest: responses.RequestsMock,
    clock: Clock,
) -> None:
    call = caller.dial("+886912345678", SUPPORT_NUMBER)
    call.press("3")
    for words in (MANDARIN_WORDS, "<script>alert('x')</script>"):
        ml.calls.add_to_transcript(
            call.sid, TranscriptEntry(at=clock(), speaker="caller", text=words, input="speech")
        )
    console = ml_app.test_client()
    assert sign_in(console, "alice", PASSWORD).status_code == 302
    available(ml, "alice")
    ml.dispatcher.dispatch(ml.config.queue_named("support"))
    answer(caller, call, twilio_rest, "alice")

    response = console.get(f"/agent/calls/{call.sid}")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = response.get_data(as_text=True)
    assert 'Mandarin (Taiwan) <span class="code">(cmn-Hant-TW)</span>' in page
    # Written as characters, not entities or escapes, and marked with their language.
    assert f'<span class="said" lang="{ZH}">{MANDARIN_WORDS}</span>' in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page


def test_agents_list_languages_and_default_to_their_queue_s(tmp_path: Path) -> None:
    operator_file, queues_file = write_multilingual_files(tmp_path)
    config = load_operator_config(operator_file, queues_file)
    path = tmp_path / "agents.yml"
    agent = {
        "id": "dao",
        "name": "Dao",
        "queue": "support",
        "password_hash": "scrypt:1",
        "reach": {"client": "dao"},
    }
    path.write_text(yaml.safe_dump({"agents": [agent]}))
    assert AgentDirectory.from_file(path, config).get("dao").languages == ["en-US"]
    path.write_text(yaml.safe_dump({"agents": [agent | {"languages": [TH, "vi-VN"]}]}))
    # Vietnamese has no prompts here, but Dao hears the whisper in Thai: that is enough.
    assert AgentDirectory.from_file(path, config).get("dao").languages == [TH, "vi-VN"]


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        (["vi-VN", TH], r"agents\.0\.languages\.0: 'vi-VN' has no prompts for the whisper"),
        (["thai"], r"agents\.0\.languages\.0: String should match pattern"),
        ([TH, TH], r"agents\.0\.languages: a language is listed twice"),
    ],
)
def test_bad_agent_languages_name_the_file_agent_and_field(
    tmp_path: Path, languages: list[str], message: str
) -> None:
    config = load_operator_config(*write_multilingual_files(tmp_path))
    path = tmp_path / "agents.yml"
    agent = {
        "id": "dao",
        "name": "Dao",
        "queue": "support",
        "languages": languages,
        "password_hash": "scrypt:1",
        "reach": {"client": "dao"},
    }
    path.write_text(yaml.safe_dump({"agents": [agent]}))
    with pytest.raises(SettingsError, match=message):
        AgentDirectory.from_file(path, config)
