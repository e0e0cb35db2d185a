"""The system under test for the dialogue benchmark, started for one run and always stopped.

Redis (a throwaway server, bench/redis_server.py), Rasa's action server and Rasa server
through the project's own scripts (scripts/rasa-actions, scripts/rasa-serve: the trained
model and dialogue/credentials.yml, which also opens Rasa's `twilio_voice` channel), and the
web app under gunicorn with the Procfile's command. Everything listens on loopback, on free
ports. Each server runs in its own process group, and the whole group is ended on exit,
whatever the reason (error, Ctrl-C, SIGTERM), so no worker or child outlives the run.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from app.settings import QUEUE_DIR, REPO_ROOT
from bench.incoming_latency import always_open_operator_file, web_command, web_size
from bench.measure import progress
from bench.redis_server import RedisServer, free_port, redis_server

AUTH_TOKEN = "bench-dialogue-auth-token-0123456789"
ACCOUNT_SID = "AC" + "d" * 32
# Loading the model takes about a minute on 2 cores; the scripts may also train first.
RASA_READY_SECONDS = 300.0
APP_READY_SECONDS = 60.0
STOP_SECONDS = 20.0
WAITING_NOTE_EVERY_SECONDS = 15.0
# Rasa keeps conversations in their own database, apart from the queue's keys (database 0).
RASA_REDIS_DB = "1"
# Added through GUNICORN_CMD_ARGS, so the Procfile's command runs unchanged: gunicorn's own
# time per request, and the benchmark phase the request belongs to (a header the benchmark
# adds; Twilio's signature covers the URL and form only, so it changes nothing else).
PHASE_HEADER = "X-Bench-Phase"
ACCESS_LOG_FORMAT = (
    f"bench-access phase=%({{{PHASE_HEADER.lower()}}}i)s seconds=%(L)s status=%(s)s path=%(U)s"
)


@dataclass(frozen=True)
class Stack:
    redis: RedisServer
    rasa_url: str
    rasa_token: str
    app_url: str  # also the PUBLIC_BASE_URL requests are signed for
    model: Path
    rasa_venv: Path
    gunicorn_log: Path
    rasa_log: Path
    pids: dict[str, int]  # process group leaders: "web", "rasa", "actions"


class StartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


def script_output(script: str) -> str:
    """The last line of a project script's stdout (scripts/rasa-venv, scripts/rasa-train
    print their result there). Their progress, on stderr, goes to the terminal: a first
    install or a retraining takes minutes."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / script)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise StartError(f"scripts/{script} failed ({result.returncode}); see its output above")
    return lines[-1]


def rasa_env(redis_url: str, token: str, rasa_port: int, actions_port: int) -> dict[str, str]:
    """The environment tests/rasa_stack.py gives the two Rasa scripts, telemetry off."""
    return os.environ | {
        "REDIS_URL": redis_url,
        "RASA_TOKEN": token,
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "RASA_REDIS_DB": RASA_REDIS_DB,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def app_env(
    redis_url: str, rasa_url: str, token: str, operator_file: Path, port: int
) -> dict[str, str]:
    return os.environ | {
        "APP_ENV": "development",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": redis_url,
        "RASA_URL": rasa_url,
        "RASA_TOKEN": token,
        "OPERATOR_FILE": str(operator_file),
        "QUEUES_FILE": str(QUEUE_DIR / "queues.yml"),
        "PORT": str(port),
        # The Procfile's defaults, said out loud so the report can name them.
        "WEB_WORKERS": web_size("WEB_WORKERS"),
        "WEB_CONNECTIONS": web_size("WEB_CONNECTIONS"),
        "GUNICORN_CMD_ARGS": f"--access-logformat {shlex.quote(ACCESS_LOG_FORMAT)}",
    }


# -- process groups -------------------------------------------------------------------------


def _group_alive(pgid: int) -> bool:
    """True while any process is left in the group (the leader may have gone first)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # After the command name (which may hold spaces): state, ppid, pgrp, ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            return True
    return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the group has already gone
        os.killpg(pgid, sig)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (gunicorn's master stops its workers, Rasa saves nothing
    it needs), SIGKILL to whatever is left after STOP_SECONDS."""
    pgid = process.pid
    if process.poll() is None:
        _signal_group(pgid, signal.SIGCONT)  # a stopped process would never see SIGTERM
        _signal_group(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(pgid, signal.SIGKILL)
        process.wait()
    # Children that outlived their leader still hold the group id, so it is still ours.
    if _group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)


@contextmanager
def process_group(
    argv: list[str], env: dict[str, str], log: Path, cwd: Path = REPO_ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own session (so a terminal's Ctrl-C reaches only the benchmark, which
    then stops it in order), its output appended to `log`, stopped on exit."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_group(process)


def log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


# -- readiness ------------------------------------------------------------------------------


def _ok(url: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The JSON of a 200 answer ({} if it is not JSON), or None."""
    try:
        response = requests.get(url, params=params, timeout=2)
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return {}


def rasa_ready(rasa_url: str, token: str, actions_url: str) -> bool:
    status = _ok(f"{rasa_url}/status", {"token": token})
    return bool(status and status.get("model_file")) and _ok(f"{actions_url}/health") is not None


def app_ready(app_url: str) -> bool:
    """Healthy, and reaching Rasa with the token (otherwise every turn would fall back)."""
    health = _ok(f"{app_url}/healthz")
    return bool(health and health.get("components", {}).get("rasa", {}).get("ok"))


Processes = dict[str, tuple[subprocess.Popen[bytes], Path]]  # name -> (process, its log)


def wait_until(
    ready: Callable[[], bool],
    processes: Processes,
    what: str,
    limit: float = RASA_READY_SECONDS,
    pause: float = 0.5,
) -> None:
    """Until `ready()`; a process that exits meanwhile, or `limit` seconds passing, is a
    StartError with the log that says why. Notes progress every so often (a model takes a
    minute or two to load on a slow machine)."""
    started = time.monotonic()
    next_note = started + WAITING_NOTE_EVERY_SECONDS
    while True:
        for name, (process, log) in processes.items():
            if process.poll() is not None:
                raise StartError(f"{name} exited early ({process.returncode}):\n{log_tail(log)}")
        if ready():
            progress(f"  {what} ready after {time.monotonic() - started:.0f} s")
            return
        waited = time.monotonic() - started
        if waited > limit:
            logs = "\n".join(f"{name}:\n{log_tail(log)}" for name, (_, log) in processes.items())
            raise StartError(f"{what} not ready after {limit:.0f} s:\n{logs}")
        if time.monotonic() >= next_note:
            progress(f"  waiting for {what} ({waited:.0f} s)")
            next_note += WAITING_NOTE_EVERY_SECONDS
        time.sleep(pause)


@contextmanager
def dialogue_stack(work_dir: Path, log_dir: Path, venv: Path, model: Path) -> Iterator[Stack]:
    """Redis, action server, Rasa server and the web app; all stopped on exit (web first, so
    no turn is in flight when Rasa goes). `venv` and `model` are what scripts/rasa-venv and
    scripts/rasa-train printed; scripts/rasa-serve finds the same model by itself."""
    token = secrets.token_hex(16)
    rasa_port, actions_port, web_port = free_port(), free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    actions_url = f"http://127.0.0.1:{actions_port}"
    app_url = f"http://127.0.0.1:{web_port}"
    operator_file = always_open_operator_file(work_dir)
    logs = {name: log_dir / f"{name}.log" for name in ("actions", "rasa", "web")}
    for log in logs.values():
        log.unlink(missing_ok=True)

    with ExitStack() as stack:
        server = stack.enter_context(redis_server("everysec"))
        progress(f"  redis-server on port {server.port}; starting the action server, Rasa")
        env = rasa_env(server.url, token, rasa_port, actions_port) | {"RASA_MODEL": str(model)}
        scripts = REPO_ROOT / "scripts"
        started = {
            "actions": stack.enter_context(
                process_group([str(scripts / "rasa-actions")], env, logs["actions"])
            ),
            "rasa": stack.enter_context(
                process_group([str(scripts / "rasa-serve")], env, logs["rasa"])
            ),
        }
        # The web app starts while Rasa loads its model; its /healthz says when it sees Rasa.
        web = app_env(server.url, rasa_url, token, operator_file, web_port)
        progress(f"  gunicorn on port {web_port}: {web_command()}")
        started["web"] = stack.enter_context(
            process_group(["bash", "-c", f"exec {web_command()}"], web, logs["web"])
        )
        processes = {name: (process, logs[name]) for name, process in started.items()}
        wait_until(
            lambda: rasa_ready(rasa_url, token, actions_url) and app_ready(app_url),
            processes,
            "the stack (Rasa loading the model)",
        )
        loaded = str((_ok(f"{rasa_url}/status", {"token": token}) or {}).get("model_file"))
        if Path(loaded).name != model.name:
            raise StartError(f"Rasa loaded {loaded}, not the project's model {model}")
        yield Stack(
            redis=server,
            rasa_url=rasa_url,
            rasa_token=token,
            app_url=app_url,
            model=model,
            rasa_venv=venv,
            gunicorn_log=logs["web"],
            rasa_log=logs["rasa"],
            pids={name: process.pid for name, process in started.items()},
        )
        progress("  stopping gunicorn, Rasa, the action server and Redis")
