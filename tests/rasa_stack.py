"""A real Rasa server and action server for the tests, started once per session through the
project's own scripts (the same ones the Procfile runs)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from app.settings import REPO_ROOT

RASA_TOKEN = "test-rasa-token"
# Loading the model takes about a minute on this class of machine.
START_TIMEOUT_SECONDS = 300


def _script_output(script: str, env: dict[str, str]) -> str:
    """The last line a project script prints (rasa-venv: the virtualenv; rasa-train: the model)."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@functools.cache
def rasa_venv() -> Path:
    """The Rasa virtualenv, made or checked once per test session (scripts/rasa-venv)."""
    return Path(_script_output("rasa-venv", dict(os.environ)))


def run_in_rasa_venv(code: str, stdin: str) -> str:
    """Run Python code with the Rasa virtualenv's interpreter from the repository root (no
    server started) and return what it printed: the dialogue's components import there only."""
    result = subprocess.run(
        [str(rasa_venv() / "bin" / "python"), "-c", code],
        input=stdin,
        cwd=REPO_ROOT,
        env=os.environ | {"PYTHAINLP_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class RasaStack:
    def __init__(self, redis_url: str, rasa_port: int, actions_port: int, log_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{rasa_port}"
        self._actions_health = f"http://127.0.0.1:{actions_port}/health"
        self._env = os.environ | {
            "REDIS_URL": redis_url,
            "RASA_TOKEN": RASA_TOKEN,
            "RASA_PORT": str(rasa_port),
            "ACTIONS_PORT": str(actions_port),
            "RASA_REDIS_DB": "1",
        }
        self._log_dir = log_dir
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def venv(self) -> Path:
        return rasa_venv()

    @property
    def model(self) -> str:
        return self._script_output("rasa-train")

    def _script_output(self, script: str) -> str:
        return _script_output(script, self._env)

    def run_rasa(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the Rasa command line from the repository root, as CI would by hand."""
        redis_host, redis_port = self._env["REDIS_URL"].split("//")[1].split("/")[0].split(":")
        env = self._env | {
            "RASA_TELEMETRY_ENABLED": "false",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self._env['ACTIONS_PORT']}/webhook",
            "RASA_REDIS_HOST": redis_host,
            "RASA_REDIS_PORT": redis_port,
            "RASA_REDIS_PASSWORD": "",
        }
        return subprocess.run(
            [str(self.venv / "bin" / "rasa"), *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self) -> None:
        for name in ("actions", "rasa"):
            script = REPO_ROOT / "scripts" / ("rasa-serve" if name == "rasa" else "rasa-actions")
            with (self._log_dir / f"{name}.log").open("ab") as log:
                self._processes[name] = subprocess.Popen(
                    [str(script)],
                    env=self._env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # so stop() can end the whole process group
                )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for name, process in self._processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            if self.is_ready():
                return
            time.sleep(1)
        raise RuntimeError(
            f"Rasa was not ready in {START_TIMEOUT_SECONDS} s:\n{self.log_tail('rasa')}"
        )

    def another_rasa(self, port: int, log: Path) -> AnotherRasa:
        """A second Rasa server on `port`, sharing this one's conversations (Redis) and
        action server, as a second `scripts/rasa-serve` in production would."""
        other = AnotherRasa(self._env | {"RASA_PORT": str(port)}, port, log)
        other.start()
        return other

    def is_ready(self) -> bool:
        try:
            status = requests.get(f"{self.url}/status", params={"token": RASA_TOKEN}, timeout=2)
            actions = requests.get(self._actions_health, timeout=2)
        except requests.RequestException:
            return False
        return status.status_code == 200 and bool(status.json().get("model_file")) and actions.ok

    def pause(self) -> None:
        """Freeze the Rasa server (SIGSTOP): it accepts connections but never answers, the
        worst kind of outage for a caller waiting in silence."""
        os.killpg(self._processes["rasa"].pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self._processes["rasa"].pid, signal.SIGCONT)

    def stop(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self._log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def tracker(self, sender: str) -> dict:
        response = requests.get(
            f"{self.url}/conversations/{sender}/tracker",
            params={"token": RASA_TOKEN, "include_events": "ALL"},
            timeout=5,
        )
        response.raise_for_status()
        return response.json()


class AnotherRasa:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._env = env
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(REPO_ROOT / "scripts" / "rasa-serve")],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the second Rasa exited early:\n{self._log.read_text()[-3000:]}"
                )
            try:
                status = requests.get(f"{self.url}/status", params={"token": RASA_TOKEN}, timeout=2)
                if status.ok and status.json().get("model_file"):
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError("the second Rasa was not ready in time")

    def kill(self) -> None:
        """As a crash: SIGKILL to the whole process group."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
