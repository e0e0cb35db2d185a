"""The whole product as `scripts/run` starts it, for end-to-end tests: gunicorn serving the
app, an RQ worker, and the project's Twilio stand-in, each its own process, on the system
clock, against the session's Redis and Rasa. Callers and agents' phones are driven through
the stand-in's control API; agents use the console over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml

from app.settings import QUEUE_DIR, REPO_ROOT
from standin.client import ControlClient
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, free_port
from tests.web_process import procfile_worker_class

START_TIMEOUT_SECONDS = 60
# The stand-in plays calls in real time, scaled: a 20 s hold clip lasts 0.4 s, a 1 s ring
# 20 ms. The app itself runs on the real clock.
TIME_SCALE = "0.02"


def open_all_week(directory: Path) -> Path:
    """The operator's YAML, but open around the clock: CI runs at any hour."""
    operator = yaml.safe_load((QUEUE_DIR / "operator.yml").read_text(encoding="utf-8"))
    operator["business_hours"] = {
        day: [["00:00", "24:00"]]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    }
    operator["holidays"] = []
    path = directory / "operator.yml"
    path.write_text(yaml.safe_dump(operator), encoding="utf-8")
    return path


class FullStack:
    def __init__(self, env: dict[str, str], web_port: int, standin_port: int, logs: Path):
        self.web = f"http://127.0.0.1:{web_port}"
        self.standin = f"http://127.0.0.1:{standin_port}"
        self._env = os.environ | env
        self._logs = logs
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._web_port = web_port

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        commands = {
            "web": [
                str(bin_dir / "gunicorn"),
                "--worker-class",
                procfile_worker_class(),  # one worker of the Procfile's class
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{self._web_port}",
                "app:create_app()",
            ],
            "worker": [
                str(bin_dir / "rq"),
                "worker",
                "--with-scheduler",
                "--worker-class",
                "app.worker.AppWorker",
                "--url",
                self._env["REDIS_URL"],
                "dispatch",
            ],
            "twilio": [
                sys.executable,
                "-m",
                "standin",
                "--app",
                self.web,
                "serve",
                "--time-scale",
                TIME_SCALE,
            ],
        }
        for name, command in commands.items():
            with (self._logs / f"{name}.log").open("ab") as log:
                self._processes[name] = subprocess.Popen(
                    command, cwd=REPO_ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT
                )
        self._wait_until_up(f"{self.web}/healthz", "web")
        self._wait_until_up(f"{self.standin}/sim", "twilio")

    def _wait_until_up(self, url: str, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._processes[name].poll() is not None:
                break
            try:
                if requests.get(url, timeout=5).status_code < 500:
                    return
            except requests.RequestException:  # not listening yet, or busy starting
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start:\n{self.log_tail(name)}")

    def logs(self) -> dict[str, str]:
        """Every process's whole log so far, by process name."""
        return {path.stem: path.read_text(errors="replace") for path in self._logs.glob("*.log")}

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self._logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for process in self._processes.values():
            process.terminate()
        for process in self._processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def control(self) -> ControlClient:
        return ControlClient(self.standin)


class AgentBrowser:
    """An agent at the console, over HTTP (its own cookies), as the page's script would."""

    def __init__(self, web: str, agent_id: str, password: str) -> None:
        self.web = web
        self.session = requests.Session()
        page = self.session.get(f"{web}/agent/sign-in", timeout=10).text
        signed = self.session.post(
            f"{web}/agent/sign-in",
            data={"csrf_token": _token(page), "agent_id": agent_id, "password": password},
            timeout=10,
        )
        signed.raise_for_status()
        console = self.session.get(f"{web}/agent/", timeout=10).text
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', console).group(1)

    def go(self, state: str) -> dict:
        response = self.session.post(
            f"{self.web}/agent/state",
            data={"state": state},
            headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
            timeout=10,
        )
        return response.json()

    def state(self) -> dict:
        return self.session.get(f"{self.web}/agent/state.json", timeout=10).json()

    def screen_pop(self, call_sid: str) -> str:
        response = self.session.get(f"{self.web}/agent/calls/{call_sid}?part=1", timeout=10)
        response.raise_for_status()
        return response.text

    def wrap_up(self, call_sid: str, disposition: str, notes: str) -> requests.Response:
        return self.session.post(
            f"{self.web}/agent/calls/{call_sid}/wrap-up",
            data={
                "csrf_token": self.csrf,
                "disposition": disposition,
                "notes": notes,
                "then": "available",
            },
            allow_redirects=False,
            timeout=10,
        )

    def close(self) -> None:
        self.session.close()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@contextmanager
def demo_stack(
    redis_url: str, rasa_url: str, rasa_token: str, tmp_path: Path
) -> Iterator[FullStack]:
    """The demo's configuration, open all week, on free ports, against the given Redis and
    Rasa; stopped (every process) when the block ends."""
    web_port, standin_port = free_port(), free_port()
    env = {
        "APP_ENV": "development",
        "REDIS_URL": redis_url,
        "RASA_URL": rasa_url,
        "RASA_TOKEN": rasa_token,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{standin_port}",
        "OPERATOR_FILE": str(open_all_week(tmp_path)),
        "SECRET_KEY": "end-to-end-test-key",
        "PORT": str(web_port),
    }
    full = FullStack(env, web_port, standin_port, tmp_path)
    try:
        full.start()
        yield full
    finally:
        full.stop()
