"""The call simulator as people use it, with the project's own app: scripted scenarios and an
interactive caller, through the Twilio stand-in, over real HTTP against a live app."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import REPO_ROOT, AppEnv, Settings
from standin.__main__ import main
from standin.scenario import load_scenario
from standin.server import StandInServer
from standin.settings import StandInSettings
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, free_port
from tests.standin.twilio_standin import stand_in

ALL_SCENARIOS = sorted((REPO_ROOT / "demo" / "scenarios").glob("*.yml"))
# Hand-off scenarios need the worker and an agent signed in at the console (the whole demo).
SCENARIOS = [p for p in ALL_SCENARIOS if not p.name.startswith("handoff-")]
ENV = {
    "APP_ENV": "development",
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
}


@pytest.fixture
def simulator_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # away from the checkout's .env
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWILIO_API_BASE_URL", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def stand_in_for_app(live_server: str) -> Iterator[StandInServer]:
    """The stand-in (step mode) sending the project's app its webhooks."""
    with stand_in(live_server) as (_, server):
        yield server


def test_without_a_twilio_identity_the_stand_in_signs_as_the_development_app_checks() -> None:
    blank = {"twilio_auth_token": "", "twilio_account_sid": "", "_env_file": None}
    app = Settings(app_env=AppEnv.development, **blank)
    stand_in = StandInSettings(app_env="development", **blank)
    assert (stand_in.auth_token, stand_in.account_sid) == (app.auth_token, app.account_sid)


def test_every_demo_scenario_is_valid() -> None:
    assert SCENARIOS and len(ALL_SCENARIOS) > len(SCENARIOS)
    for path in ALL_SCENARIOS:
        load_scenario(path)


def test_the_demo_scenarios_pass(
    stand_in_for_app: StandInServer, simulator_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stand-in", stand_in_for_app.url, "run", *map(str, SCENARIOS)]) == 0
    out = capsys.readouterr().out
    assert f"{len(SCENARIOS)} passed, 0 failed" in out
    assert "heard: Hi, I'm the virtual assistant for Acme." in out
    assert "maria calls back from +14155550101" in out


def test_scenarios_can_bring_their_own_stand_in(
    live_server: str, simulator_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--app", live_server, "run", "--in-process", *map(str, SCENARIOS)]
    assert main(args) == 0
    assert f"{len(SCENARIOS)} passed, 0 failed" in capsys.readouterr().out


def test_a_failed_expectation_fails_the_run_and_says_what_was_heard(
    stand_in_for_app: StandInServer,
    simulator_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = tmp_path / "wrong.yml"
    scenario.write_text(
        'name: wrong\nto: "+15005550006"\nsteps:\n'
        '  - dial: {call: a, from: "+14155550301"}\n'
        '  - expect: {call: a, heard: "There are 9 people ahead"}\n'
    )
    assert main(["--stand-in", stand_in_for_app.url, "run", str(scenario)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "step 2 (expect)" in out and "You're next in line." in out


def test_an_invalid_scenario_is_explained_and_nothing_runs(
    stand_in_for_app: StandInServer,
    simulator_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = tmp_path / "bad.yml"
    scenario.write_text(
        'name: bad\nto: "+15005550006"\nsteps:\n  - dial: {call: a, from: "+14155550301"}\n'
        '  - press: {call: a, digits: "12ab"}\n'
    )
    assert main(["--stand-in", stand_in_for_app.url, "run", str(scenario)]) == 2
    assert f"{scenario}: step 2 (press), digits: " in capsys.readouterr().err
    assert stand_in_for_app.twilio.calls() == []


def test_an_interactive_caller_talks_presses_and_hangs_up(
    stand_in_for_app: StandInServer, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "standin", "call", "--from", "+14155550101"],
        input="my bill is wrong\n0\n/hangup\n",
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO_ROOT),
            "TWILIO_API_BASE_URL": stand_in_for_app.url,
            **ENV,
        },
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "assistant: Hi, I'm the virtual assistant for Acme." in result.stdout
    assert "Press 1 for billing" in result.stdout  # the assistant is down in the test app
    assert "next available person" in result.stdout
    assert "(you hung up)" in result.stdout
    assert "[listening for keys] > /hangup" in result.stdout  # the input is echoed
