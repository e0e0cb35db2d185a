"""The operator's YAML taken up without a restart: a change is validated first; a good one
is in use at the next request, a broken one keeps the running configuration and is shown
(file, field, line) on /healthz and the operator page until it is fixed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from app import config_reload, create_app
from app.bootstrap import close_services
from app.settings import QUEUE_DIR, Settings
from standin import FlaskClientTransport, SimulatedTwilio
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, SUPPORT_NUMBER, Clock
from tests.test_agent_console import Console


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    for name in ("operator.yml", "queues.yml"):
        shutil.copy(QUEUE_DIR / name, tmp_path / name)
    return tmp_path / "operator.yml", tmp_path / "queues.yml"


@pytest.fixture
def app(
    settings: Settings,
    clock: Clock,
    redis_client: redis.Redis,
    files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    monkeypatch.setattr(config_reload, "CHECK_EVERY_SECONDS", 0.0)  # look at every request
    operator_file, queues_file = files
    ours = settings.model_copy(update={"operator_file": operator_file, "queues_file": queues_file})
    app = create_app({"SETTINGS": ours, "CLOCK": clock, "TESTING": True})
    yield app
    close_services(app)


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    stamp = path.stat().st_mtime + 5  # a later modification time, whatever the clock's grain
    os.utime(path, (stamp, stamp))


def greeting(app: Flask, caller: str) -> str:
    twilio = SimulatedTwilio(
        FlaskClientTransport(app.test_client()), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID
    )
    return twilio.dial(caller, SUPPORT_NUMBER).heard_since(0)


def test_a_good_change_is_in_use_at_the_next_call_and_a_broken_one_is_refused_clearly(
    app: Flask, files: tuple[Path, Path]
) -> None:
    operator_file, queues_file = files
    assert "virtual assistant for Acme" in greeting(app, "+14155550101")

    rewrite(operator_file, "company: Acme", "company: Globex")
    assert "virtual assistant for Globex" in greeting(app, "+14155550102")

    rewrite(queues_file, "announce_every_seconds: 60", "announce_every_seconds: 5")
    assert "virtual assistant for Globex" in greeting(app, "+14155550103"), "still running"
    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["components"]["config"] == {
        "ok": False,
        "required": False,
        "state": "change refused",
    }
    assert str(queues_file) not in health.get_data(as_text=True)  # states only, in public
    carol = Console(app, "carol")
    page = carol.client.get("/operator/").get_data(as_text=True)
    assert "A configuration change was refused" in page
    assert f"{queues_file}" in page and "queues.0.announce_every_seconds" in page
    line = queues_file.read_text().splitlines().index("    announce_every_seconds: 5") + 1
    assert f"(line {line})" in page

    rewrite(queues_file, "announce_every_seconds: 5", "announce_every_seconds: 60")
    assert "virtual assistant for Globex" in greeting(app, "+14155550104")
    assert app.test_client().get("/healthz").get_json()["components"]["config"]["ok"] is True
