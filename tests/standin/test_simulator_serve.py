"""The stand-in as a service: `python -m standin serve` as a real process, its control
API, the interactive caller fed through stdin, and scenarios run against it, all over real
HTTP against a contact centre that checks every signature."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

from app.settings import REPO_ROOT
from standin.__main__ import main
from standin.client import ControlClient, ControlError
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, free_port
from tests.standin.twilio_standin import (
    CENTRE_NUMBER,
    WAIT_SECONDS,
    ContactCentre,
    contact_centre,
    rest_client,
    stand_in,
)

CALLER = "+14155550101"
STARTUP_SECONDS = 30.0


def command_env(api_base_url: str) -> dict[str, str]:
    """The settings a command reads, all given (it runs outside the checkout, so no .env)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO_ROOT),
        "APP_ENV": "development",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_API_BASE_URL": api_base_url,
    }


class Lines:
    """A process's output, line by line, read by a thread so a test can wait for a line."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = WAIT_SECONDS) -> re.Match[str]:
        """The first line from here on that matches `pattern`."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} in {self.seen}") from None
            if line is None:
                raise AssertionError(f"output ended without {pattern!r}: {self.seen}")
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match

    def close(self) -> None:
        self._thread.join(WAIT_SECONDS)


@pytest.fixture
def centre() -> Iterator[tuple[ContactCentre, str]]:
    with contact_centre() as pair:
        yield pair


def start_serve(app_url: str, *options: str) -> tuple[subprocess.Popen[str], Lines, str]:
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "standin", "--app", app_url, "serve", *options],
        env=command_env(url),
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = Lines(process.stdout)
    lines.wait_for("listening on", STARTUP_SECONDS)
    return process, lines, url


def stop(process: subprocess.Popen[str], lines: Lines) -> int:
    process.terminate()  # SIGTERM, as honcho stops it
    code = process.wait(WAIT_SECONDS)
    lines.close()
    process.stdout.close()
    return code


@pytest.fixture
def serve_step(centre) -> Iterator[tuple[ContactCentre, str]]:
    """`python -m standin serve --step` calling the contact centre."""
    contact, app_url = centre
    process, lines, url = start_serve(app_url, "--step")
    yield contact, url
    assert stop(process, lines) == 0


@pytest.fixture
def serve_realtime(centre) -> Iterator[tuple[ContactCentre, str]]:
    """The same in real time, with one simulated second lasting 10 ms."""
    contact, app_url = centre
    process, lines, url = start_serve(app_url, "--time-scale", "0.01", "--music-seconds", "2")
    yield contact, url
    assert stop(process, lines) == 0


def test_the_interactive_caller_hears_what_happens_without_typing_anything(serve_step) -> None:
    contact, url = serve_step
    caller = subprocess.Popen(
        [sys.executable, "-m", "standin", "call", "--from", CALLER],
        env=command_env(url),
        cwd="/",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = Lines(caller.stdout)
    try:
        sid = lines.wait_for(r"^call (CA[0-9a-f]{32}) from \+14155550101").group(1)
        lines.wait_for("assistant: Welcome to the test centre.")
        caller.stdin.write("hello\n")
        caller.stdin.flush()
        lines.wait_for("assistant: You said hello.")
        lines.wait_for(r"\(hold music\)")
        # The app moves the call to an agent through the REST API, as its worker does.
        with rest_client(url) as client:
            client.calls(sid).update(url=f"{PUBLIC_BASE_URL}/voice/agent")
        lines.wait_for(r"\(the app moved the call\)")
        lines.wait_for("assistant: An agent is free.")
        lines.wait_for(r"\(ringing client:alice\)")
        lines.wait_for(r"\[client:alice heard: Verified caller, Maria.\]")
        lines.wait_for(r"\(you are talking to client:alice\)")
        caller.stdin.write("/state\n")
        caller.stdin.flush()
        lines.wait_for("with client:alice; status in-progress")
        with ControlClient(url) as control:
            control.act(sid, "agent/hangup")
        lines.wait_for(r"\(client:alice hung up\)")
        lines.wait_for("assistant: Thanks for calling. Goodbye.")
        lines.wait_for(r"\(call ended: the app hung up\)")
        caller.stdin.close()
        assert caller.wait(WAIT_SECONDS) == 0
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        lines.close()
        caller.stdout.close()
    assert len(contact.requests_to("/voice/status")) == 1


def test_the_control_api_drives_callers_and_agents_phones(serve_step) -> None:
    contact, url = serve_step
    with ControlClient(url) as control:
        info = control.info()
        assert info["mode"] == "step" and info["app"]["reachable"]
        control.set_phone("client:alice", "busy")
        call = control.place_call(CALLER, CENTRE_NUMBER)
        assert call.state == "listening" and call.listening_for == ["dtmf", "speech"]
        assert call.heard == ["Welcome to the test centre."]
        mark = call.mark
        call.press("0")
        assert "You are next in line." in call.heard_since(mark)
        assert call.state == "listening" and call.listening_for == ["dtmf"]
        control.set_phone("client:alice", "now")
        call.press("0")
        assert call.state == "with_agent" and call.with_agent == "client:alice"
        assert call.agent["heard"] == ["Verified caller, Maria."]
        with pytest.raises(ControlError) as busy_line:
            call.say("hello?")
        assert busy_line.value.status == 409 and "with client:alice" in busy_line.value.message
        events = call.agent_hang_up()
        assert "agent_hung_up" in [e["kind"] for e in events]
        assert call.ended and call.heard[-1] == "Thanks for calling. Goodbye."
        with pytest.raises(ControlError) as gone:
            control.act("CA" + "0" * 32, "press", digits="1")
        assert gone.value.status == 404
        with pytest.raises(ControlError) as bad:
            control.set_phone("client:alice", "sometimes")
        assert bad.value.status == 400 and "answer must be" in bad.value.message
    assert [f["DialCallStatus"] for f in contact.requests_to("/voice/dial-result")] == [
        "busy",
        "completed",
    ]


def test_events_long_poll_returns_when_something_happens(serve_step) -> None:
    _, url = serve_step
    with ControlClient(url) as control:
        call = control.place_call(CALLER, CENTRE_NUMBER)
        seen = call.mark
        result: dict[str, object] = {}

        def poll() -> None:
            with ControlClient(url) as other:
                result.update(other.events(call.sid, seen, wait=WAIT_SECONDS))

        poller = threading.Thread(target=poll)
        poller.start()
        with rest_client(url) as client:
            client.calls(call.sid).update(url=f"{PUBLIC_BASE_URL}/voice/moved")
        poller.join(WAIT_SECONDS + 5)
        assert not poller.is_alive()
        assert result["events"] and result["events"][0]["kind"] == "redirected"
        call.wait_for("listening", WAIT_SECONDS)
        assert "You were moved." in call.heard
        call.hang_up()


def test_a_scenario_with_agents_runs_against_serve(
    serve_realtime, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    contact, url = serve_realtime
    scenario = tmp_path / "handoff.yml"
    scenario.write_text(
        'name: an agent answers, another is busy\nto: "+15005550006"\nsteps:\n'
        '  - agent_phone: {endpoint: "client:alice", answer: busy}\n'
        '  - dial: {call: maria, from: "+14155550101"}\n'
        '  - press: {call: maria, digits: "0"}\n'
        "  - wait_for: {call: maria, state: listening, timeout: 10}\n"
        '  - expect: {call: maria, heard: "You are next in line."}\n'
        '  - agent_phone: {endpoint: "client:alice", answer: after 2s}\n'
        '  - press: {call: maria, digits: "0"}\n'
        "  - wait_for: {call: maria, state: with_agent, timeout: 10}\n"
        '  - expect: {call: maria, with_agent: "client:alice", agent_heard: "verified"}\n'
        "  - agent_hang_up: maria\n"
        "  - wait_for: {call: maria, state: ended, timeout: 10}\n"
        '  - expect: {call: maria, heard: "Goodbye", ended: true}\n'
        "  - call_back: maria\n"
        '  - expect: {call: maria, heard: "Welcome to the test centre."}\n'
        "  - drop: maria\n"
        "  - expect: {call: maria, ended: true}\n"
    )
    monkeypatch.chdir(tmp_path)
    for name, value in command_env(url).items():
        monkeypatch.setenv(name, value)
    assert main(["run", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "1 passed, 0 failed" in out
    assert "maria calls back from +14155550101" in out
    assert "maria drops" in out
    callers = {f["CallSid"] for f in contact.requests_to("/voice/status")}
    assert len(callers) == 2  # one status callback per call


@pytest.mark.parametrize(
    ("steps", "where"),
    [
        ('  - press: {call: a, digits: "12ab"}\n', "step 2 (press), digits: "),
        (
            '  - agent_phone: {endpoint: "client:alice", answer: sometimes}\n',
            "step 2 (agent_phone), answer: ",
        ),
        ("  - wait_for: {call: a, state: asleep}\n", "step 2 (wait_for), state: "),
        ("  - teleport: a\n", "step 2 (teleport), "),
        ("  - say: {call: b, text: hi}\n", "step 2 (say), call: no call named 'b'"),
        ('  - expect: {call: a, with_agent: "alice"}\n', "step 2 (expect), with_agent: "),
    ],
)
def test_an_invalid_scenario_names_the_file_step_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch, steps: str, where: str
) -> None:
    scenario = tmp_path / "bad.yml"
    scenario.write_text(
        'name: bad\nto: "+15005550006"\nsteps:\n  - dial: {call: a, from: "+14155550301"}\n' + steps
    )
    monkeypatch.chdir(tmp_path)
    for name, value in command_env(f"http://127.0.0.1:{free_port()}").items():
        monkeypatch.setenv(name, value)
    assert main(["run", str(scenario)]) == 2  # before anything is dialled
    err = capsys.readouterr().err
    assert f"{scenario}: {where}" in err


def test_commands_say_clearly_when_the_stand_in_or_the_app_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    nowhere = f"http://127.0.0.1:{free_port()}"
    for name, value in command_env(nowhere).items():
        monkeypatch.setenv(name, value)
    assert main(["call"]) == 2
    assert f"the Twilio stand-in is not running at {nowhere}" in capsys.readouterr().err
    with stand_in(f"http://127.0.0.1:{free_port()}") as (_, server):
        assert main(["--stand-in", server.url, "call"]) == 2
    assert "the app does not answer" in capsys.readouterr().err
    monkeypatch.setenv("TWILIO_API_BASE_URL", "https://api.twilio.com")
    assert main(["serve"]) == 2
    assert "must be a loopback address with a port" in capsys.readouterr().err


def test_the_rest_api_and_control_api_share_the_port(serve_step) -> None:
    _, url = serve_step
    assert requests.get(f"{url}/sim", timeout=WAIT_SECONDS).json()["stand_in"] == "twilio"
    missing = requests.get(f"{url}/nothing-here", timeout=WAIT_SECONDS)
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_the_control_api_answers_loopback_names_only(serve_step) -> None:
    """No credentials guard the control API, so a page elsewhere must not reach it through
    DNS rebinding: a Host naming another site is refused."""
    _, url = serve_step
    port = url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]"):
        assert requests.get(f"{url}/sim", headers={"Host": host}, timeout=WAIT_SECONDS).ok
    for host in (f"evil.example:{port}", "127.0.0.1.evil.example", "attacker"):
        refused = requests.post(
            f"{url}/sim/calls",
            json={"from": "+14155550101", "to": "+15005550006"},
            headers={"Host": host},
            timeout=WAIT_SECONDS,
        )
        assert refused.status_code == 403, host
        assert "loopback names only" in refused.json()["error"]
