"""Prism (Stoplight's OpenAPI mock server) serving Twilio's own API 2010 spec: a stand-in for
api.twilio.com that checks every request against the spec (path, SID patterns, HTTP basic
auth, form fields, enums, formats, required fields) and answers with the spec's examples.
It keeps no state. Installed and cached outside the checkout by `scripts/prism-install`,
which `scripts/test` runs before pytest.

Use it as a session fixture (see `prism_base_url`): it yields the base URL to give
`Telephony` (or twilio's `client.api.base_url`) in place of https://api.twilio.com.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from app.settings import REPO_ROOT

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "prism-install"
# Prism loads the 1.9 MB spec in about two seconds here; leave room for a slow CI machine.
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
# A free port can be taken by someone else before Prism binds it: try a few.
START_ATTEMPTS = 3


def free_port() -> int:
    """A loopback port nobody listens on now (as tests/conftest.py's; not imported from
    there, so conftest.py can import this module)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrismUnavailable(RuntimeError):
    """Prism is not installed, or did not start."""


@dataclass(frozen=True)
class PrismInstall:
    """A complete install made by scripts/prism-install."""

    root: Path

    @property
    def prism(self) -> Path:
        return self.root / "node_modules" / ".bin" / "prism"

    @property
    def spec(self) -> Path:
        """Twilio's OpenAPI spec for api.twilio.com/2010-04-01."""
        return self.root / "twilio_api_v2010.json"


def find_install() -> PrismInstall:
    """The cached install, without installing anything (that takes a network and ~15 s)."""
    check = subprocess.run(
        [str(INSTALL_SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise PrismUnavailable(
            f"Prism is not installed ({check.stderr.strip()}): run scripts/prism-install "
            "(scripts/test runs it before pytest)"
        )
    path = subprocess.run(
        [str(INSTALL_SCRIPT), "--path"], capture_output=True, text=True, check=True
    )
    return PrismInstall(Path(path.stdout.strip().splitlines()[-1]))


class PrismServer:
    """One `prism mock` process on a loopback port, its output in `log_path`."""

    def __init__(self, install: PrismInstall, port: int, log_path: Path) -> None:
        self.install = install
        self.url = f"http://127.0.0.1:{port}"
        self._port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(self.install.prism),
            "mock",
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
            # Request violations answer 422 (401 without basic auth) either way; with
            # --errors a response that breaks the spec is an error too.
            "--errors",
            "--multiprocess",
            "false",
            str(self.install.spec),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | {"NO_COLOR": "1", "FORCE_COLOR": "0"},
                start_new_session=True,  # so stop() reaches anything it forks
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrismUnavailable(
                    f"prism exited with status {self._process.returncode} before answering:\n"
                    f"{self.log_tail()}"
                )
            if self.is_answering():
                return
            time.sleep(0.1)
        raise PrismUnavailable(
            f"prism did not answer on {self.url} within {START_TIMEOUT_SECONDS} s:\n"
            f"{self.log_tail()}"
        )

    def is_answering(self) -> bool:
        """Prism's own 404 for a path the spec lacks means it is listening and loaded."""
        try:
            response = requests.get(f"{self.url}/", timeout=1)
        except requests.RequestException:
            return False
        return response.status_code == 404 and "stoplight.io/prism" in response.text

    @property
    def address_was_taken(self) -> bool:
        return "EADDRINUSE" in self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._process = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_prism(install: PrismInstall, log_dir: Path) -> PrismServer:
    """A running Prism on a free loopback port; the caller stops it."""
    for attempt in range(1, START_ATTEMPTS + 1):
        server = PrismServer(install, free_port(), log_dir / f"prism-{attempt}.log")
        try:
            server.start()
        except PrismUnavailable:
            server.stop()
            if attempt < START_ATTEMPTS and server.address_was_taken:
                continue
            raise
        return server
    raise AssertionError("unreachable")


def prism_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Session fixture body: Prism serving Twilio's API 2010 spec; yields its base URL
    (say http://127.0.0.1:41234), to use where https://api.twilio.com would be."""
    try:
        server = start_prism(find_install(), tmp_path_factory.mktemp("prism"))
    except PrismUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()
