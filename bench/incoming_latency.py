"""`/voice/incoming` latency under gunicorn started with the Procfile's command, with many
callers at once.

Each simulated caller signs its requests as Twilio does (SimulatedTwilio over real HTTP) and
places several calls in a row, each with its own CallSid. Afterwards the queue must hold
exactly one place per call, at distinct, gap-free positions.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests
import yaml

from app import business_hours
from app.calls import CallStore
from app.queue_service import CallState, QueueService
from app.settings import QUEUE_DIR, REPO_ROOT, WEEKDAYS, QueueSettings, load_operator_config
from bench.measure import (
    BARRIER_SECONDS,
    MachineCpu,
    machine_cpu,
    own_cpu_seconds,
    process_tree_cpu_seconds,
    progress,
    redis_cpu_seconds,
)
from bench.redis_server import RedisServer, free_port, redis_server
from standin import HttpTransport, SimulatedCall, SimulatedTwilio, new_call_sid, twiml

AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "b" * 32
READY_SECONDS = 30.0
STOP_SECONDS = 15.0
# Callers stop placing calls after this; the report counts what was not placed.
LOAD_DEADLINE_SECONDS = 60.0
UNLOADED_CALLS = 50
WARMUP_CALLERS_PER_WORKER = 8  # at once: each worker sees several (and opens its pools)
WARMUP_CALLS_EACH = 3
# Added through GUNICORN_CMD_ARGS, so the Procfile's command runs unchanged: gunicorn's own
# time per request (from parsed request to response, without the wait for a free thread)
# and the worker that served it.
ACCESS_LOG_FORMAT = "bench-access worker=%(p)s seconds=%(L)s status=%(s)s path=%(U)s"
_ACCESS_LINE = re.compile(
    r"^bench-access worker=<(?P<worker>\d+)> seconds=(?P<seconds>[\d.]+) "
    r"status=(?P<status>\d+) path=(?P<path>\S+)$"
)


@dataclass(frozen=True)
class CallResult:
    sid: str
    latency_ms: float
    error: str | None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used during the loaded run, by whom, and the wall time it took."""

    client: float
    web: float
    redis: float
    wall: float
    machine: MachineCpu


@dataclass(frozen=True)
class LatencyResult:
    command: str
    workers: int  # gunicorn's worker processes
    callers: int
    calls_per_caller: int
    warmup_calls: int
    unloaded_ms: list[float]  # sorted, one caller placing calls one after another
    loaded_ms: list[float]  # sorted, successful calls of the loaded run
    errors: list[str]
    not_placed: int
    wall_seconds: float
    cpu: CpuUse
    checks: list[Check]
    server_ms: list[float]  # sorted, gunicorn's time for each loaded /voice/incoming
    per_worker: list[int]  # loaded /voice/incoming requests served by each worker

    @property
    def ok(self) -> bool:
        return not self.errors and not self.not_placed and all(c.ok for c in self.checks)


# -- the app under gunicorn -----------------------------------------------------------------


def always_open_operator_file(directory: Path) -> Path:
    """A copy of queue/operator.yml open all day every day with no holidays: outside hours
    /voice/incoming refuses new callers, and the benchmark must not depend on the clock."""
    data = yaml.safe_load((QUEUE_DIR / "operator.yml").read_text(encoding="utf-8"))
    data["business_hours"] = {day: [["00:00", "24:00"]] for day in WEEKDAYS}
    data["holidays"] = []
    path = directory / "operator.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    config = load_operator_config(path, QUEUE_DIR / "queues.yml")
    if not business_hours.is_open(config.operator, datetime.now(UTC)):
        raise RuntimeError(f"{path} should be open now but is not")
    return path


def procfile_command(process: str = "web") -> str:
    """The command of one of the Procfile's processes, as written (variables unexpanded)."""
    lines = (REPO_ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    prefix = f"{process}:"
    return next(line.removeprefix(prefix).strip() for line in lines if line.startswith(prefix))


def procfile_web_default(variable: str) -> str:
    """The default the Procfile's web command gives `variable` (`${WEB_WORKERS:-2}`)."""
    command = procfile_command()
    found = re.search(r"\$\{" + re.escape(variable) + r":-([^}]*)\}", command)
    if found is None:
        raise RuntimeError(f"Procfile web command has no ${{{variable}:-...}}: {command}")
    return found.group(1)


def web_size(variable: str) -> str:
    """The environment's value of WEB_WORKERS or WEB_CONNECTIONS, else the Procfile's
    default."""
    return os.environ.get(variable) or procfile_web_default(variable)


def web_command(role: str = "voice") -> str:
    """The Procfile's command for `role`, bound to loopback (WEB_BIND's default): its `web`
    process serves voice, its `console` process the console; "all" (both in one process)
    is the `web` command serving both."""
    process, served = ("console", "console") if role == "console" else ("web", "voice")
    command = procfile_command(process)
    for part in ("--bind ${WEB_BIND:-127.0.0.1}:", f"--env WEB_ROLE={served}"):
        if part not in command:
            raise RuntimeError(f"Procfile {process} command has no {part!r}: {command}")
    command = command.replace(f"--env WEB_ROLE={served}", f"--env WEB_ROLE={role}")
    return command.replace("${WEB_BIND:-127.0.0.1}", "127.0.0.1")


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or a worker slow to answer its first request
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not become ready:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets gunicorn's master stop its workers; the process group (started here,
    with the master as leader) is killed only if that takes too long."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn(
    env: dict[str, str], log: Path, role: str = "voice"
) -> Iterator[subprocess.Popen[bytes]]:
    """The web process as the Procfile runs it, on env's PORT; its output goes to `log`."""
    with web_server(web_command(role), env, log) as process:
        yield process


@contextmanager
def web_server(
    command: str, env: dict[str, str], log: Path, append: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` run by bash from the repository root until its /healthz answers (at env's
    PUBLIC_BASE_URL), stopped afterwards; its output goes to `log`."""
    with log.open("ab" if append else "wb") as output:
        if append:
            output.write(f"\n$ {command}\n".encode())
            output.flush()
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_ready(process, env["PUBLIC_BASE_URL"], log)
            yield process
        finally:
            _stop(process)


def _app_env(server: RedisServer, operator_file: Path, port: int, workers: int) -> dict[str, str]:
    base_url = f"http://127.0.0.1:{port}"
    return os.environ | {
        "APP_ENV": "development",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": base_url,
        "REDIS_URL": server.url,
        "OPERATOR_FILE": str(operator_file),
        "QUEUES_FILE": str(QUEUE_DIR / "queues.yml"),
        "PORT": str(port),
        "WEB_WORKERS": str(workers),
        "GUNICORN_CMD_ARGS": f"--access-logformat {shlex.quote(ACCESS_LOG_FORMAT)}",
    }


# -- the callers ----------------------------------------------------------------------------


def _problem(status: int, body: str) -> str | None:
    """Why this answer is not a caller being greeted in the queue, or None if it is."""
    if status != 200:
        return f"HTTP {status}: {body[:200]}"
    try:
        verbs = twiml.parse(body)
    except twiml.TwimlError as exc:
        return f"bad TwiML: {exc}"
    if not any(isinstance(verb, twiml.Gather) for verb in verbs):
        return f"no <Gather> (refused, or closed?): {body[:200]}"
    return None


def _place_call(twilio: SimulatedTwilio, caller: str, called: str) -> CallResult:
    call = SimulatedCall(twilio=twilio, sid=new_call_sid(), from_=caller, to=called)
    form = call.base_params("ringing")
    started = time.perf_counter()
    try:
        status, body = twilio.post("/voice/incoming", form)
    except requests.RequestException as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return CallResult(call.sid, elapsed, f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    return CallResult(call.sid, elapsed, _problem(status, body))


class _Callers:
    """Simulated callers against one app: each group starts together and places its calls
    one after another, each from a new number."""

    def __init__(self, base_url: str, called: str) -> None:
        self.base_url = base_url
        self.called = called
        self.numbers = itertools.count()  # next() is atomic under the GIL

    def _number(self) -> str:
        return f"+1202{next(self.numbers):07d}"

    def _caller(self, calls: int, start: threading.Barrier, deadline: float) -> list[CallResult]:
        twilio = SimulatedTwilio(
            HttpTransport(self.base_url), self.base_url, AUTH_TOKEN, ACCOUNT_SID
        )
        start.wait(BARRIER_SECONDS)
        results = []
        for _ in range(calls):
            if time.monotonic() > deadline:
                break
            results.append(_place_call(twilio, self._number(), self.called))
        return results

    def run(self, callers: int, calls: int, deadline: float) -> tuple[list[CallResult], float]:
        """All results and the wall time from the start to the last answer."""
        start = threading.Barrier(callers + 1)
        with ThreadPoolExecutor(max_workers=callers) as pool:
            futures = [pool.submit(self._caller, calls, start, deadline) for _ in range(callers)]
            start.wait(BARRIER_SECONDS)
            started = time.perf_counter()
            results = [result for future in futures for result in future.result()]
            return results, time.perf_counter() - started


# -- checks ---------------------------------------------------------------------------------


def verify_queue(client: redis.Redis, queue: QueueSettings, sids: list[str]) -> list[Check]:
    """Exactly one place per call placed, tickets 1..n, people ahead 0..n-1, and each caller
    told a distinct place (what the app stored as announced)."""
    service, store, n = QueueService(client), CallStore(client), len(sids)
    positions = [service.position(queue, sid) for sid in sids]
    line = service.snapshot(queue).line_length
    records = [store.get(sid) for sid in sids]
    announced = sorted(r.announced_ahead for r in records if r and r.announced_ahead is not None)
    waiting = sum(p.state is CallState.waiting for p in positions)
    tickets = sorted(p.ticket or 0 for p in positions)
    ahead = sorted(p.people_ahead if p.people_ahead is not None else -1 for p in positions)
    return [
        Check("one place per call placed", line == n, f"{line:,} places, {n:,} calls"),
        Check("every call waiting", waiting == n, f"{waiting:,} of {n:,} waiting"),
        Check(
            "tickets 1..n, no gap or repeat",
            tickets == list(range(1, n + 1)),
            f"{len(set(tickets)):,} distinct, {tickets[0]}..{tickets[-1]}" if tickets else "none",
        ),
        Check(
            "people ahead 0..n-1, distinct",
            ahead == list(range(n)),
            f"{len(set(ahead)):,} distinct, {ahead[0]}..{ahead[-1]}" if ahead else "none",
        ),
        Check(
            "announced places 0..n-1, distinct",
            announced == list(range(n)),
            f"{len(set(announced)):,} distinct of {n:,} calls",
        ),
    ]


def server_times(log: Path, offset: int) -> tuple[list[float], list[int]]:
    """From gunicorn's access log after `offset`: its time for each /voice/incoming in ms
    (sorted), and how many each worker served (most first)."""
    with log.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    matches = [m for m in map(_ACCESS_LINE.match, lines) if m and m["path"] == "/voice/incoming"]
    per_worker: dict[str, int] = {}
    for m in matches:
        per_worker[m["worker"]] = per_worker.get(m["worker"], 0) + 1
    times = sorted(float(m["seconds"]) * 1000 for m in matches)
    return times, sorted(per_worker.values(), reverse=True)


# -- the whole measurement ------------------------------------------------------------------


def _cpu_now(gunicorn_pid: int, client: redis.Redis) -> tuple[float, float, float]:
    return own_cpu_seconds(), process_tree_cpu_seconds(gunicorn_pid), redis_cpu_seconds(client)


@dataclass(frozen=True)
class _Calls:
    warmup: list[CallResult]
    unloaded: list[CallResult]
    loaded: list[CallResult]
    wall: float  # of the loaded run
    cpu: CpuUse  # during the loaded run
    log_offset: int  # where the loaded run starts in gunicorn's log

    @property
    def everything(self) -> list[CallResult]:
        return self.warmup + self.unloaded + self.loaded


def _drive(
    group: _Callers,
    gunicorn_pid: int,
    client: redis.Redis,
    log: Path,
    workers: int,
    callers: int,
    calls: int,
) -> _Calls:
    """Warm every worker up, time calls one at a time, then the load."""
    end = time.monotonic() + LOAD_DEADLINE_SECONDS
    warmup, _ = group.run(workers * WARMUP_CALLERS_PER_WORKER, WARMUP_CALLS_EACH, end)
    progress(f"  warm-up: {len(warmup)} calls; now {UNLOADED_CALLS} calls one at a time")
    unloaded, _ = group.run(1, UNLOADED_CALLS, end)
    progress(f"  {callers} callers x {calls} calls at once")
    log_offset = log.stat().st_size
    before, machine_before = _cpu_now(gunicorn_pid, client), machine_cpu()
    loaded, wall = group.run(callers, calls, time.monotonic() + LOAD_DEADLINE_SECONDS)
    machine = machine_cpu() - machine_before
    used = [b - a for a, b in zip(before, _cpu_now(gunicorn_pid, client), strict=True)]
    cpu = CpuUse(client=used[0], web=used[1], redis=used[2], wall=wall, machine=machine)
    return _Calls(warmup, unloaded, loaded, wall, cpu, log_offset)


def measure_incoming(
    queue: QueueSettings, callers: int, calls: int, workers: int, log: Path
) -> LatencyResult:
    with (
        tempfile.TemporaryDirectory(prefix="bench-web-") as tmp,
        redis_server("everysec") as server,
    ):
        port = free_port()
        env = _app_env(server, always_open_operator_file(Path(tmp)), port, workers)
        progress(f"gunicorn: {workers} workers on port {port}")
        client = server.client()
        try:
            with gunicorn(env, log) as process:
                group = _Callers(env["PUBLIC_BASE_URL"], queue.numbers[0])
                done = _drive(group, process.pid, client, log, workers, callers, calls)
            # After gunicorn stopped: its access log is complete.
            server_ms, per_worker = server_times(log, done.log_offset)
            errors = [f"{r.sid}: {r.error}" for r in done.everything if r.error]
            progress(f"  {len(done.loaded)} calls in {done.wall:.1f} s, {len(errors)} error(s)")
            checks = verify_queue(client, queue, [r.sid for r in done.everything])
        finally:
            client.close()
    return LatencyResult(
        command=f"{web_command()}  (WEB_WORKERS={workers})",
        workers=workers,
        callers=callers,
        calls_per_caller=calls,
        warmup_calls=len(done.warmup),
        unloaded_ms=sorted(r.latency_ms for r in done.unloaded if not r.error),
        loaded_ms=sorted(r.latency_ms for r in done.loaded if not r.error),
        errors=errors,
        not_placed=callers * calls - len(done.loaded),
        wall_seconds=done.wall,
        cpu=done.cpu,
        checks=checks,
        server_ms=server_ms,
        per_worker=per_worker,
    )
