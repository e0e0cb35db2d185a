"""A Lao caller through the stand-in: with no Twilio voice for Lao, everything they hear is
played from recordings, and the stand-in reads the transcripts, so the call reads as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from flask import Flask

from app import create_app
from app.settings import QUEUE_DIR, Settings
from standin import FlaskClientTransport, SimulatedTwilio
from standin import twiml as standin_twiml
from standin.interactive import describe
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, Clock

LAO_NUMBER = "+15005550021"


@pytest.fixture
def lao_twilio(
    settings: Settings, clock: Clock, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[SimulatedTwilio]:
    queues = yaml.safe_load((QUEUE_DIR / "queues.yml").read_text(encoding="utf-8"))
    queues["queues"].append({"name": "lao", "numbers": [LAO_NUMBER], "languages": ["lo-LA"]})
    queues_file = tmp_path / "queues.yml"
    queues_file.write_text(yaml.safe_dump(queues), encoding="utf-8")
    app: Flask = create_app(
        {
            "SETTINGS": settings.model_copy(update={"queues_file": queues_file}),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    yield SimulatedTwilio(
        FlaskClientTransport(app.test_client()), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID
    )
    app.extensions["queue_assistant"].close()


def test_a_lao_caller_hears_the_greeting_place_and_wait_played_from_recordings(
    lao_twilio: SimulatedTwilio,
) -> None:
    for i in range(12):
        lao_twilio.dial(f"+85620555010{i:02d}", LAO_NUMBER)
    call = lao_twilio.dial("+8562055519999", LAO_NUMBER)
    heard = " ".join(call.heard)
    assert "ສະບາຍດີ" in heard and "Acme" in heard  # the greeting's clip names the company
    assert "ມີ ສິບ ສອງ ຄົນລໍຖ້າຢູ່ກ່ອນທ່ານເຈົ້າ." in heard  # 12 people ahead, from number clips
    assert "ຕອນນີ້ຍັງຄາດຄະເນເວລາລໍຖ້າບໍ່ໄດ້ເຈົ້າ." in heard
    assert call.clips and all("/voice/recordings/lo-LA/" in url for url in call.clips)
    assert call.gather is not None and call.gather.language == "lo-LA"
    assert not any(isinstance(child, standin_twiml.Say) for child in call.gather.children)
    # The simulator's caller reads the transcripts as the assistant's words, from a recording.
    greeting = next(e for e in call.events if e.kind == "heard")
    assert describe(greeting.as_dict()) == f"  assistant (recording): {call.heard[0]}"


def test_a_waiting_lao_caller_hears_music_and_pressing_one_plays_the_question(
    lao_twilio: SimulatedTwilio,
) -> None:
    call = lao_twilio.dial("+8562055519999", LAO_NUMBER)
    assert "ທ່ານແມ່ນຄິວຕໍ່ໄປເຈົ້າ." in call.heard
    call.stay_silent()
    assert call.played  # hold music: a recording, but not a sentence (no transcript)
    mark = len(call.heard)
    call.press("1")
    assert call.heard_since(mark) == "ມີຫຍັງໃຫ້ຂ້ອຍຊ່ວຍເຈົ້າ?"
