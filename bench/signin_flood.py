"""Callers' webhook latency while the agent console is flooded with sign-ins.

Each sign-in costs a scrypt hash (about 0.1 s of a core and 32 MiB), so a flood of sign-in
POSTs could take every core and thread from callers who share the web process. The app checks
only `password_checks_at_once` passwords at a time per process and answers the rest 503 at
once; the Procfile runs the console in a process of its own (`console:`, WEB_ROLE=console)
beside Twilio's webhooks (`web:`, WEB_ROLE=voice). This measures both shapes: one process
serving both (WEB_ROLE=all) and the Procfile's two.

One run, against gunicorn started with the Procfile's web command (loopback, a Redis of its
own), for five settings: the bound off (as many checks at once as a worker has threads, as
before), on (the default, 1), a control (on, with the flood refused at the form token before
any check), all with one process serving both, and the console in a web process of its
own as the Procfile runs it (bound off, then on). For each, a steady
stream of simulated waiting callers posts signed `/voice/wait` on a fixed schedule, first
quietly and then while clients post sign-ins as fast as they are answered, each with a new
unknown agent id (so no lockout stops them; an unknown id costs the same check as a known
one). Each round runs them in turn, so all meet the same machine. Prints progress; writes
bench/results/signin-flood.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests
import yaml

from app.settings import QUEUE_DIR, REPO_ROOT, load_operator_config
from bench.incoming_latency import (
    ACCESS_LOG_FORMAT,
    always_open_operator_file,
    gunicorn,
    web_command,
)
from bench.measure import (
    CpuMark,
    Interference,
    machine_cpu,
    machine_description,
    own_cpu_seconds,
    percentile,
    process_tree_cpu_seconds,
    progress,
    redis_cpu_seconds,
)
from bench.redis_server import RedisServer, free_port, redis_server, server_version
from standin import HttpTransport, SimulatedCall, SimulatedTwilio, new_call_sid

AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "c" * 32
RESULTS = REPO_ROOT / "bench" / "results"
# Before the quiet window: every caller placed, every worker thread warm.
SETTLE_SECONDS = 1.5
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACCESS_LINE = re.compile(
    r"^bench-access worker=<(?P<worker>\d+)> seconds=(?P<seconds>[\d.]+) "
    r"status=(?P<status>\d+) path=(?P<path>\S+)$"
)


@dataclass(frozen=True)
class Options:
    workers: int
    threads: int
    callers: int
    interval: float  # each caller's /voice/wait, seconds apart
    flood_clients: int
    quiet_seconds: float
    flood_seconds: float
    rounds: int


@dataclass
class Window:
    """What happened while one phase ran: the callers' /voice/wait answers (client side
    and gunicorn's own time), the sign-ins, and who used the CPUs."""

    voice_ms: list[float] = field(default_factory=list)
    voice_errors: list[str] = field(default_factory=list)
    voice_server_ms: list[float] = field(default_factory=list)
    sign_ins: dict[str, int] = field(default_factory=dict)  # status -> count
    sign_in_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_web: float = 0.0
    cpu_client: float = 0.0
    cpu_redis: float = 0.0
    cpu_machine_busy: float = 0.0  # share of all CPUs


@dataclass
class Run:
    """One gunicorn with one bound: its quiet window and its flood window."""

    label: str
    at_once: int
    round: int
    quiet: Window
    flood: Window
    other_share: float  # of the machine, used by neither the benchmark nor its servers


# -- the app -----------------------------------------------------------------------------


def operator_file(directory: Path, at_once: int) -> Path:
    """Open all hours (as the other benchmarks), with this many password checks at once."""
    path = always_open_operator_file(directory)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agent_console"]["password_checks_at_once"] = at_once
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_operator_config(path, QUEUE_DIR / "queues.yml")  # still valid
    return path


def app_env(server: RedisServer, operator: Path, port: int, options: Options) -> dict[str, str]:
    base_url = f"http://127.0.0.1:{port}"
    return os.environ | {
        "APP_ENV": "development",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": base_url,
        "REDIS_URL": server.url,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # no assistant: not needed here
        "RASA_TOKEN": "unused",
        "OPERATOR_FILE": str(operator),
        "QUEUES_FILE": str(QUEUE_DIR / "queues.yml"),
        "PORT": str(port),
        "WEB_WORKERS": str(options.workers),
        # The console's own process (the Procfile's `console:`), when it runs apart.
        "CONSOLE_PORT": str(port),
        "CONSOLE_WORKERS": str(options.workers),
        "CONSOLE_THREADS": str(options.threads),
        "GUNICORN_CMD_ARGS": f"--access-logformat {shlex.quote(ACCESS_LOG_FORMAT)}",
    }


def support_number() -> str:
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    return config.queue_named("support").numbers[0]


# -- the callers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    sent: float  # monotonic
    ms: float
    error: str | None


class WaitingCallers:
    """Callers in the queue, each posting a signed /voice/wait every `interval` seconds on
    a fixed schedule (a late answer is not made up for with a burst)."""

    def __init__(self, base_url: str, called: str, options: Options) -> None:
        self._base_url, self._called, self._options = base_url, called, options
        self._stop = threading.Event()
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.placed = threading.Barrier(options.callers + 1)

    def start(self) -> None:
        for n in range(self._options.callers):
            thread = threading.Thread(target=self._caller, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.placed.wait(60)

    def stop(self) -> list[Sample]:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self._samples

    def _caller(self, n: int) -> None:
        twilio = SimulatedTwilio(
            HttpTransport(self._base_url), self._base_url, AUTH_TOKEN, ACCOUNT_SID
        )
        call = SimulatedCall(
            twilio=twilio, sid=new_call_sid(), from_=f"+1303{n:07d}", to=self._called
        )
        status, body = twilio.post("/voice/incoming", call.base_params("ringing"))
        if status != 200:
            raise RuntimeError(f"/voice/incoming answered {status}: {body[:200]}")
        self.placed.wait(60)
        interval = self._options.interval
        # Spread the callers over the interval, so the stream is steady.
        next_at = time.monotonic() + interval * n / self._options.callers
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            sent = time.monotonic()
            try:
                status, body = twilio.post("/voice/wait", call.base_params())
                error = None if status == 200 and "<Response" in body else f"HTTP {status}"
            except requests.RequestException as exc:
                error = type(exc).__name__
            sample = Sample(sent, (time.monotonic() - sent) * 1000, error)
            with self._lock:
                self._samples.append(sample)
            next_at = max(next_at + interval, time.monotonic())
        twilio.close()


# -- the flood ---------------------------------------------------------------------------


def _sign_in_client(
    base_url: str,
    deadline: float,
    checked: bool,
    results: list[tuple[int, float]],
    lock: threading.Lock,
) -> None:
    """One browser posting sign-ins as fast as they are answered, each with a new id; with
    a wrong form token unless `checked` (refused 400 before any password check)."""
    with requests.Session() as browser:
        page = browser.get(f"{base_url}/agent/sign-in", timeout=30)
        match = _CSRF.search(page.text)
        if match is None:
            raise RuntimeError(f"no CSRF token on the sign-in page: {page.status_code}")
        mine: list[tuple[int, float]] = []
        while time.monotonic() < deadline:
            form = {
                "csrf_token": match[1] if checked else "not the form token",
                "agent_id": f"flood-{secrets.token_hex(6)}",
                "password": "not the password",
            }
            sent = time.monotonic()
            answer = browser.post(
                f"{base_url}/agent/sign-in", data=form, timeout=30, allow_redirects=False
            )
            mine.append((answer.status_code, (time.monotonic() - sent) * 1000))
    with lock:
        results.extend(mine)


def flood(base_url: str, clients: int, seconds: float, checked: bool) -> list[tuple[int, float]]:
    deadline = time.monotonic() + seconds
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_sign_in_client,
            args=(base_url, deadline, checked, results, lock),
        )
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- one gunicorn, one bound -------------------------------------------------------------


@dataclass(frozen=True)
class _Cpu:
    web: float
    client: float
    redis: float
    machine_busy: float
    machine_total: float

    @classmethod
    def now(cls, gunicorn_pids: list[int], client: redis.Redis) -> _Cpu:
        machine = machine_cpu()
        return cls(
            web=sum(process_tree_cpu_seconds(pid) for pid in gunicorn_pids),
            client=own_cpu_seconds(),
            redis=redis_cpu_seconds(client),
            machine_busy=machine.busy,
            machine_total=machine.total,
        )


def _timed(window: Window, before: _Cpu, after: _Cpu, seconds: float) -> None:
    window.seconds = seconds
    window.cpu_web = after.web - before.web
    window.cpu_client = after.client - before.client
    window.cpu_redis = after.redis - before.redis
    total = after.machine_total - before.machine_total
    window.cpu_machine_busy = (after.machine_busy - before.machine_busy) / total if total else 0


def _voice_server_ms(log: Path, offset: int, end: int) -> list[float]:
    """gunicorn's own time for each /voice/wait logged between two offsets of its log."""
    with log.open("rb") as f:
        f.seek(offset)
        lines = f.read(end - offset).decode(errors="replace").splitlines()
    matches = [m for m in map(_ACCESS_LINE.match, lines) if m and m["path"] == "/voice/wait"]
    return sorted(float(m["seconds"]) * 1000 for m in matches)


@dataclass(frozen=True)
class Setting:
    label: str
    at_once: int  # password_checks_at_once
    checked: bool  # the flood's passwords reach the check (False: refused at the form token)
    # The console in a web process of its own (another gunicorn, the same command), as a
    # second Procfile line could run it; callers then never share a process with it.
    separate: bool = False


@dataclass(frozen=True)
class _Web:
    voice_url: str
    console_url: str
    pids: list[int]
    voice_log: Path


@contextmanager
def _web(server: RedisServer, options: Options, setting: Setting, tmp: Path) -> Iterator[_Web]:
    """gunicorn as the Procfile runs it; two of them when the console is separate."""
    operator = operator_file(tmp, setting.at_once)
    with ExitStack() as stack:
        urls, pids = [], []
        # As the Procfile runs them (voice, console), or one process serving both.
        for name in ("voice", "console") if setting.separate else ("all",):
            env = app_env(server, operator, free_port(), options)
            process = stack.enter_context(gunicorn(env, tmp / f"{name}.log", role=name))
            urls.append(env["PUBLIC_BASE_URL"])
            pids.append(process.pid)
        log = tmp / ("voice.log" if setting.separate else "all.log")
        yield _Web(urls[0], urls[-1], pids, log)


def measure_run(server: RedisServer, options: Options, setting: Setting, round_: int) -> Run:
    label, at_once = setting.label, setting.at_once
    client = server.client()
    client.flushall()
    mark = CpuMark.now()
    progress(f"round {round_}, {label} (password_checks_at_once={at_once}): start")
    with (
        tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp,
        _web(server, options, setting, Path(tmp)) as web,
    ):
        callers = WaitingCallers(web.voice_url, support_number(), options)
        callers.start()
        time.sleep(SETTLE_SECONDS)
        quiet, flooded = Window(), Window()
        offsets = [web.voice_log.stat().st_size]
        quiet_start, cpu0 = time.monotonic(), _Cpu.now(web.pids, client)
        time.sleep(options.quiet_seconds)
        flood_start, cpu1 = time.monotonic(), _Cpu.now(web.pids, client)
        offsets.append(web.voice_log.stat().st_size)
        progress(f"  quiet {options.quiet_seconds:.0f} s done; flooding")
        sign_ins = flood(
            web.console_url, options.flood_clients, options.flood_seconds, setting.checked
        )
        flood_end, cpu2 = time.monotonic(), _Cpu.now(web.pids, client)
        samples = callers.stop()
        time.sleep(0.2)  # the access log's last lines
        offsets.append(web.voice_log.stat().st_size)
        quiet.voice_server_ms = _voice_server_ms(web.voice_log, offsets[0], offsets[1])
        flooded.voice_server_ms = _voice_server_ms(web.voice_log, offsets[1], offsets[2])
    _timed(quiet, cpu0, cpu1, flood_start - quiet_start)
    _timed(flooded, cpu1, cpu2, flood_end - flood_start)
    # The flood window's callers: sent while it ran (their answers may come after).
    for window, start, end in (
        (quiet, quiet_start, flood_start),
        (flooded, flood_start, flood_end),
    ):
        mine = [s for s in samples if start <= s.sent < end]
        window.voice_ms = sorted(s.ms for s in mine if s.error is None)
        window.voice_errors = [s.error for s in mine if s.error is not None]
    flooded.sign_ins = dict(Counter(str(status) for status, _ in sign_ins))
    flooded.sign_in_ms = sorted(ms for _, ms in sign_ins)
    client.close()
    run = Run(label, at_once, round_, quiet, flooded, Interference.since(mark).other)
    progress(
        f"  /voice/wait p50/p99: quiet {_p(quiet.voice_ms, 0.5)}/{_p(quiet.voice_ms, 0.99)} ms, "
        f"flood {_p(flooded.voice_ms, 0.5)}/{_p(flooded.voice_ms, 0.99)} ms; "
        f"sign-ins {flooded.sign_ins}"
    )
    return run


def _p(ordered: list[float], fraction: float) -> str:
    return f"{percentile(ordered, fraction):,.0f}" if ordered else "-"


# -- the report --------------------------------------------------------------------------


def _pooled(runs: list[Run], label: str, phase: str) -> Window:
    """Every round's window of one kind, together."""
    pooled = Window()
    sign_ins: Counter[str] = Counter()
    for run in runs:
        if run.label != label:
            continue
        window: Window = getattr(run, phase)
        pooled.voice_ms += window.voice_ms
        pooled.voice_errors += window.voice_errors
        pooled.voice_server_ms += window.voice_server_ms
        pooled.sign_in_ms += window.sign_in_ms
        sign_ins.update(window.sign_ins)
        pooled.seconds += window.seconds
        pooled.cpu_web += window.cpu_web
        pooled.cpu_client += window.cpu_client
        pooled.cpu_redis += window.cpu_redis
        pooled.cpu_machine_busy += window.cpu_machine_busy * window.seconds
    pooled.sign_ins = dict(sign_ins)
    pooled.voice_ms.sort()
    pooled.voice_server_ms.sort()
    pooled.sign_in_ms.sort()
    if pooled.seconds:
        pooled.cpu_machine_busy /= pooled.seconds
    return pooled


def _row(label: str, phase: str, w: Window) -> str:
    answered = sum(w.sign_ins.values())
    statuses = ", ".join(f"{n:,}&times;{s}" for s, n in sorted(w.sign_ins.items())) or "-"
    rate = f"{answered / w.seconds:,.0f}/s: {statuses}" if answered else "-"
    return (
        f"| {label} | {phase} | {len(w.voice_ms):,} | {_p(w.voice_ms, 0.5)} "
        f"| {_p(w.voice_ms, 0.95)} | **{_p(w.voice_ms, 0.99)}** "
        f"| {_p(w.voice_ms, 1.0)} | {len(w.voice_errors)} "
        f"| {_p(w.voice_server_ms, 0.5)} / {_p(w.voice_server_ms, 0.99)} "
        f"| {rate} | {_p(w.sign_in_ms, 0.5)} "
        f"| {w.cpu_web / w.seconds:.2f} / {w.cpu_client / w.seconds:.2f} "
        f"| {w.cpu_machine_busy:.0%} |"
    )


def _ratio(top: list[float], bottom: list[float], fraction: float) -> str:
    if not top or not bottom:
        return "-"
    return f"{percentile(top, fraction) / percentile(bottom, fraction):.1f}&times;"


def report(options: Options, runs: list[Run], started: str, seconds: float) -> str:
    labels = list(dict.fromkeys(run.label for run in runs))
    header = (
        "| setting | window | /voice/wait answers | p50 ms | p95 ms | **p99 ms** | max ms "
        "| errors | gunicorn's own p50 / p99 ms | sign-ins answered (status) "
        "| sign-in p50 ms | CPUs busy: web / bench client | machine busy |"
    )
    lines = [
        "# Sign-in flood: callers' webhook latency",
        "",
        f"Started {started} (UTC), {seconds:.0f} s in all. {machine_description()}; "
        f"redis-server {server_version()}.",
        "",
        f"Web: `{web_command('all')}`; when separate, that serving voice and "
        f"`{web_command('console')}`; WEB_WORKERS={options.workers}, "
        f"CONSOLE_WORKERS={options.workers}, CONSOLE_THREADS={options.threads}.",
        f"Callers: {options.callers} in the queue, each posting a signed `/voice/wait` every "
        f"{options.interval:g} s ({options.callers / options.interval:,.0f} a second). "
        f"Windows: {options.quiet_seconds:g} s quiet, then {options.flood_seconds:g} s with "
        f"{options.flood_clients} clients posting sign-ins back to back, each with a new "
        f"unknown agent id. Rounds: {options.rounds}, each setting in turn; "
        "figures pooled.",
        "Latency is the caller's (request sent to answer read, over loopback); gunicorn's own "
        "time leaves out the wait for a free thread. CPUs busy: CPU seconds a second (2.00 = "
        "two whole cores; web: every gunicorn). The bench client (callers and flood) runs on "
        "the same machine.",
        "",
        header,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|",
    ]
    for label in labels:
        for phase in ("quiet", "flood"):
            lines.append(_row(label, phase, _pooled(runs, label, phase)))
    lines += ["", "| setting | p50 flood / quiet | p99 flood / quiet |", "|---|--:|--:|"]
    for label in labels:
        quiet, flooded = _pooled(runs, label, "quiet"), _pooled(runs, label, "flood")
        lines.append(
            f"| {label} | {_ratio(flooded.voice_ms, quiet.voice_ms, 0.5)} "
            f"| {_ratio(flooded.voice_ms, quiet.voice_ms, 0.99)} |"
        )
    off, on = _pooled(runs, "off", "flood"), _pooled(runs, "on", "flood")
    lines += [
        "",
        "During the flood, p99 with the bound off / on: "
        f"**{_ratio(off.voice_ms, on.voice_ms, 0.99)}** "
        f"(p50 {_ratio(off.voice_ms, on.voice_ms, 0.5)}). `control` is the bound on with the "
        "flood refused at the form token (400) before any password check: what any flood of "
        "requests this fast costs the callers when the console shares their web process. "
        "`separate` puts the console in a gunicorn of its own (the same command on another "
        "port), bound off or on: the callers' process serves no sign-in at all, but shares "
        "the machine's cores with the one that does.",
    ]
    lines += [
        "",
        "Each round:",
        "",
        header,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|",
    ]
    for run in runs:
        for phase in ("quiet", "flood"):
            lines.append(_row(f"{run.label} (round {run.round})", phase, getattr(run, phase)))
    others = max(run.other_share for run in runs)
    lines += [
        "",
        f"Other processes used at most {others:.0%} of the machine during a round.",
        "",
    ]
    return "\n".join(lines)


# -- the command -------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/signin-flood",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--workers", type=int, default=2, help="WEB_WORKERS (default 2)")
    parser.add_argument(
        "--threads", type=int, default=8, help="CONSOLE_THREADS, when separate (default 8)"
    )
    parser.add_argument("--callers", type=int, default=10, help="callers waiting (10)")
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between a caller's /voice/wait"
    )
    parser.add_argument("--flood-clients", type=int, default=20, help="sign-in clients (20)")
    parser.add_argument("--quiet-seconds", type=float, default=4.0)
    parser.add_argument("--flood-seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2, help="off and on, this many times")
    args = parser.parse_args(argv)
    return Options(
        workers=args.workers,
        threads=args.threads,
        callers=args.callers,
        interval=args.interval,
        flood_clients=args.flood_clients,
        quiet_seconds=args.quiet_seconds,
        flood_seconds=args.flood_seconds,
        rounds=args.rounds,
    )


def main(argv: list[str] | None = None) -> int:
    options = _arguments(argv)
    started, began = datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), time.monotonic()
    settings = [
        # As many checks at once as a worker has threads: no bound, as before.
        Setting("off", options.threads, checked=True),
        Setting("on", 1, checked=True),
        # The floor: the same flood refused before any check (a wrong form token, 400).
        Setting("control", 1, checked=False),
        # The other way out: the console in a process of its own, unbounded and bounded.
        Setting("separate, off", options.threads, checked=True, separate=True),
        Setting("separate, on", 1, checked=True, separate=True),
    ]
    runs: list[Run] = []
    with redis_server("everysec") as server:
        for round_ in range(1, options.rounds + 1):
            for setting in settings:
                runs.append(measure_run(server, options, setting, round_))
    RESULTS.mkdir(parents=True, exist_ok=True)
    markdown = report(options, runs, started, time.monotonic() - began)
    (RESULTS / "signin-flood.md").write_text(markdown, encoding="utf-8")
    data = {"options": asdict(options), "runs": [asdict(run) for run in runs]}
    (RESULTS / "signin-flood.json").write_text(json.dumps(data), encoding="utf-8")
    progress(f"report: {RESULTS / 'signin-flood.md'}")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
