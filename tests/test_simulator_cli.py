"""The call simulator as people use it: scripted scenarios and an interactive caller, over
real HTTP against a live app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import REPO_ROOT
from app.simulator.__main__ import main
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL

SCENARIOS = sorted((REPO_ROOT / "demo" / "scenarios").glob("*.yml"))
ENV = {
    "APP_ENV": "test",
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
}


@pytest.fixture
def simulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_the_demo_scenarios_pass(
    live_server: str, simulator_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert SCENARIOS
    assert main(["--app", live_server, "run", *map(str, SCENARIOS)]) == 0
    out = capsys.readouterr().out
    assert f"{len(SCENARIOS)} passed, 0 failed" in out
    assert "heard: Hi, I'm the virtual assistant for Acme." in out


def test_a_failed_expectation_fails_the_run_and_says_what_was_heard(
    live_server: str, simulator_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "wrong.yml"
    scenario.write_text(
        'name: wrong\nto: "+15005550006"\nsteps:\n'
        '  - dial: {call: a, from: "+14155550301"}\n'
        '  - expect: {call: a, heard: "There are 9 people ahead"}\n'
    )
    assert main(["--app", live_server, "run", str(scenario)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "step 2 (expect)" in out and "You're next in line." in out


def test_an_invalid_scenario_is_explained(
    live_server: str, simulator_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "bad.yml"
    scenario.write_text(
        'name: bad\nto: "+15005550006"\nsteps:\n  - press: {call: a, digits: "12ab"}\n'
    )
    assert main(["--app", live_server, "run", str(scenario)]) == 1
    assert "digits" in capsys.readouterr().out


def test_an_interactive_caller_talks_presses_and_hangs_up(live_server: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.simulator",
            "--app",
            live_server,
            "call",
            "--from",
            "+14155550101",
        ],
        input="my bill is wrong\n0\n/hangup\n",
        capture_output=True,
        text=True,
        env={"PATH": "", **ENV},
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "assistant: Hi, I'm the virtual assistant for Acme." in result.stdout
    assert "Press 1 for billing" in result.stdout  # the assistant is down in the test app
    assert "next available person" in result.stdout
    assert "(you hung up)" in result.stdout
