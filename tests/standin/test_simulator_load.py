"""The load generator (bench/load) in miniature: a few callers for a second against the live
app, and the limits it keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.load_callers import main, people_ahead
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL


@pytest.mark.parametrize(
    ("sentence", "ahead"),
    [
        ("You're next in line.", 0),
        ("There is 1 person ahead of you.", 1),
        ("There are 12 people ahead of you.", 12),
        ("Press 1 to talk to the assistant.", None),
    ],
)
def test_the_people_ahead_a_caller_is_told(sentence: str, ahead: int | None) -> None:
    assert people_ahead(sentence) == ahead


def test_a_short_run_against_the_app_keeps_the_queue_promises(
    live_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "APP_ENV": "development",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    }.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "load.json"
    args = ["--app", live_server, "--callers", "4", "--duration", "1", "--ramp", "0"]
    args += ["--think", "0", "0", "--drop-rate", "1", "--output", str(output)]
    assert main(args) == 0
    result = json.loads(output.read_text())
    assert result["calls"] >= 8 and result["call_backs"] == result["restored"] >= 4
    assert result["errors"] == {} and all(result["checks"].values())
    assert {"/voice/incoming", "/voice/wait", "/voice/status", "all"} <= set(result["latency"])
    assert "ok   people ahead never went up" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["--callers", "2001"],
        ["--duration", "601"],
        ["--app", "http://203.0.113.5:8000"],
        ["--app", "https://127.0.0.1:8000"],
    ],
)
def test_the_load_generator_keeps_its_bounds(args: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        main(args)
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "must be" in err or "loopback http addresses only" in err
