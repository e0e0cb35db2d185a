"""The wait loop under an open-loop load (bench/run-wait-poll): 10,000 callers waiting, their
`/voice/wait` polls arriving at a set rate, the app on several web-server stacks and the bare
reference app (bench/bare_poll_app.py) in the same run, and the Redis memory each waiting
caller costs. Writes bench/results/wait-poll.md.

Every stack serves the same Redis and the same callers, all running at once; each rate is
sent to every server in turn before the next rate, so the shared machine's drifts in speed
touch them alike. Before the measured rates, every caller is polled once on each, so each
meets callers who have heard the wait menu (a first poll saves the record; a later one
only when the figures change)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import redis
from twilio.request_validator import RequestValidator

from app.queue_service import AgentState, QueueService
from app.settings import QUEUE_DIR, REPO_ROOT, load_operator_config
from bench import bare_poll_app
from bench.incoming_latency import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    _app_env,
    _place_call,
    always_open_operator_file,
    web_command,
    web_server,
)
from bench.measure import (
    machine_description,
    process_tree_cpu_seconds,
    progress,
    redis_cpu_seconds,
)
from bench.open_loop import RateResult, form_request, run_at_rate
from bench.redis_server import free_port, redis_server
from standin import HttpTransport, SimulatedTwilio

RESULTS = REPO_ROOT / "bench" / "results"
# A rate whose p99 is above this ends a stack's ladder: it is past saturation.
SATURATED_MS = 250.0
TARGET_P99_MS = 10.0  # at TARGET_RATE polls/s
TARGET_RATE = 500.0
KNEE_P99_MS = 25.0  # the highest rate that holds this is a stack's capacity
TARGET_SHARE_OF_BARE = 0.6
TARGET_BYTES_PER_CALLER = 1024
SEED_THREADS = 16
BUSY_AGENTS = 20
POLL_EXPECT = b"<Redirect"
LEAD_IN_SECONDS = 2.0


@dataclass(frozen=True)
class Stack:
    """A web server running an app: `command` is run by bash from the repository root,
    with {port} and {app} filled in."""

    name: str
    command: str
    note: str = ""


GUNICORN = (
    ".venv/bin/gunicorn -c python:app.gunicorn_config --worker-class {kind} --workers {workers}"
    " --threads {threads} --bind 127.0.0.1:{{port}} --no-control-socket --env WEB_ROLE=voice"
    " --access-logfile - '{{app}}'"
)


def gunicorn(kind: str, workers: int, threads: int = 1) -> Stack:
    name = f"gunicorn {kind} {workers}" + (f"x{threads}" if kind == "gthread" else "")
    return Stack(name, GUNICORN.format(kind=kind, workers=workers, threads=threads))


STACKS = {
    # The Procfile's: gevent, because /voice/turn waits on Rasa (up to its budget) and a
    # sync worker waiting there would hold every poll behind it; threads enough for the
    # turns (32 a worker, the Procfile before) cost the polls their tail under load, a
    # greenlet per request does not (README "The web server").
    "gunicorn-gevent-2": gunicorn("gevent", 2),
    # One worker: how the app's figures grow from one process to two (README's sizing).
    "gunicorn-gevent-1": gunicorn("gevent", 1),
    "gunicorn-gthread-2x32": gunicorn("gthread", 2, 32),
    "gunicorn-gthread-2x8": gunicorn("gthread", 2, 8),
    "gunicorn-gthread-2x2": gunicorn("gthread", 2, 2),
    "gunicorn-sync-2": gunicorn("sync", 2),
    "gunicorn-sync-3": gunicorn("sync", 3),
    "granian-2": Stack(
        "granian 2 workers",
        ".venv/bin/granian --interface wsgi --factory --workers 2 --blocking-threads 1"
        " --host 127.0.0.1 --port {port} --no-ws --log-level warning '{app_factory}'",
        "no access log",
    ),
    "uwsgi-2": Stack(
        "uWSGI 2 processes",
        ".venv/bin/uwsgi --http-socket 127.0.0.1:{port} --master --processes 2 --lazy-apps"
        " --need-app --die-on-term --disable-logging --module '{app}'",
        "no access log",
    ),
}
BARE_STACK = gunicorn("sync", 2)


# -- servers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # the web server's main process; its workers are its children

    def cpu_seconds(self) -> float:
        return process_tree_cpu_seconds(self.pid)


@contextmanager
def serving(stack: Stack, app: str, env: dict[str, str], log: Path) -> Iterator[Server]:
    """`app` ("module:factory()") under `stack` on a free port."""
    port = free_port()
    module, factory = app.split(":")
    command = stack.command.format(
        port=port, app=app, app_factory=f"{module}:{factory.removesuffix('()')}"
    )
    env = env | {"PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with web_server(command, env, log, append=True) as process:
        yield Server(port, process.pid)


# -- the callers ----------------------------------------------------------------------------


def seed_app_callers(env: dict[str, str], port: int, called: str, count: int) -> list[str]:
    """`count` callers arriving through /voice/incoming, as Twilio would bring them."""
    base_url = f"http://127.0.0.1:{port}"
    numbers = iter(range(count))
    lock = threading.Lock()
    sids: list[str] = []
    errors: list[str] = []

    def caller() -> None:
        twilio = SimulatedTwilio(HttpTransport(base_url), base_url, AUTH_TOKEN, ACCOUNT_SID)
        try:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                result = _place_call(twilio, f"+1202{n:07d}", called)
                with lock:
                    if result.error:
                        errors.append(result.error)
                    else:
                        sids.append(result.sid)
                    done = len(sids)
                if done % 2000 == 0:
                    progress(f"  {done:,} of {count:,} callers waiting")
        finally:
            twilio.close()

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        for future in [pool.submit(caller) for _ in range(SEED_THREADS)]:
            future.result()
    if errors:
        raise RuntimeError(f"{len(errors)} arrivals failed, the first: {errors[0]}")
    return sids


def staff_busy_agents(client: redis.Redis, operator_file: Path, agents: int) -> set[str]:
    """`agents` agents talking to the first callers, after a few finished calls each, so the
    estimate has handle times to go by and the line a team serving it."""
    config = load_operator_config(operator_file, QUEUE_DIR / "queues.yml")
    queue = config.queue_named(config.queues.default_queue)
    service = QueueService(client)
    answered = set()
    for round_ in range(2):
        for n in range(agents):
            service.set_agent_state(queue, f"bench-agent-{n}", AgentState.available)
        for _ in range(agents):
            offer = service.dispatch(queue, lease_seconds=60)
            if offer is None:
                raise RuntimeError("no caller offered to a free agent")
            service.connect(queue, offer.call_sid, offer.agent_id)
            answered.add(offer.call_sid)
            if round_ == 0:
                service.end_call(queue, offer.call_sid)
    return answered


def poll_payloads(port: int, sids: Sequence[str], called: str, signed: bool) -> list[bytes]:
    """Each waiting caller's `/voice/wait` request as Twilio sends it."""
    url = f"http://127.0.0.1:{port}/voice/wait"
    validator = RequestValidator(AUTH_TOKEN)
    payloads = []
    for n, sid in enumerate(sids):
        form = {
            "CallSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"+1202{n:07d}",
            "To": called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form)} if signed else {}
        payloads.append(
            form_request("127.0.0.1", port, "/voice/wait", urlencode(form).encode(), headers)
        )
    return payloads


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One rate on one stack, and the CPU its polls cost."""

    result: RateResult
    web_cpu_ms: float  # per answered poll, the web server's processes
    redis_cpu_ms: float  # per answered poll, redis-server

    @property
    def rate(self) -> float:
        return self.result.rate

    @property
    def failed(self) -> int:
        return self.result.failed

    @property
    def errors(self) -> dict[str, int]:
        return self.result.errors

    def p(self, fraction: float) -> float:
        return self.result.p(fraction)


@dataclass
class Ladder:
    stack: Stack
    app: str  # "app" or "bare"
    steps: list[Step] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.stack.name + (" (bare reference)" if self.app == "bare" else "")

    def at(self, rate: float) -> Step | None:
        return next((s for s in self.steps if s.rate == rate), None)

    @property
    def knee(self) -> float:
        """The highest rate whose p99 held KNEE_P99_MS (0 if none did)."""
        held = [s.rate for s in self.steps if s.p(0.99) <= KNEE_P99_MS and not s.failed]
        return max(held, default=0.0)


@dataclass
class Contender:
    """One server under the load: the app on a stack, or the bare reference."""

    ladder: Ladder
    server: Server
    client: redis.Redis  # its Redis, for the CPU it used
    payloads: list[bytes]
    saturated: bool = False

    def step(self, rate: float, seconds: float) -> Step:
        # Unmeasured, the same rate first: the server has been idle while the others were
        # measured, and a line its process last replayed a minute ago is replayed now, as
        # it would not be under a steady load.
        run_at_rate("127.0.0.1", self.server.port, self.payloads, rate, LEAD_IN_SECONDS)
        web_before, redis_before = self.server.cpu_seconds(), redis_cpu_seconds(self.client)
        result = run_at_rate(
            "127.0.0.1",
            self.server.port,
            self.payloads,
            rate,
            seconds,
            seed=int(rate),
            expect=POLL_EXPECT,
        )
        answered = max(result.ok, 1)
        step = Step(
            result,
            web_cpu_ms=(self.server.cpu_seconds() - web_before) * 1000 / answered,
            redis_cpu_ms=(redis_cpu_seconds(self.client) - redis_before) * 1000 / answered,
        )
        self.ladder.steps.append(step)
        self.saturated = step.p(0.99) > SATURATED_MS or bool(step.failed)
        progress(
            f"  {self.ladder.label:<34} p50 {step.p(0.5):7.1f} ms  p99 {step.p(0.99):7.1f}"
            f" ms  {step.failed} failed  CPU per poll: web {step.web_cpu_ms:.2f} ms, Redis"
            f" {step.redis_cpu_ms:.3f} ms  (generator late by at most {result.late_ms:.0f} ms)"
        )
        return step


def climb_together(contenders: list[Contender], rates: Sequence[float], seconds: float) -> None:
    """Each rate on every server in turn before the next rate: the machine's speed drifts
    (a shared host), and this way a drift touches all of them alike."""
    for rate in rates:
        running = [c for c in contenders if not c.saturated]
        if not running:
            return
        progress(f"{rate:.0f} polls/s")
        for contender in running:
            contender.step(rate, seconds)


WARM_UP_RATE = 300.0


def warm_up(contender: Contender, rate: float) -> None:
    """Every caller polled once (their first poll saves the record), unmeasured, at a rate
    every stack measured here holds."""
    payloads = contender.payloads
    step = run_at_rate(
        "127.0.0.1",
        contender.server.port,
        payloads,
        rate,
        len(payloads) / rate,
        seed=0,
        expect=POLL_EXPECT,
    )
    if step.failed:
        raise RuntimeError(f"{contender.ladder.label}: warm-up polls failed: {step.errors}")


@dataclass(frozen=True)
class Memory:
    callers: int
    used_before: int
    used_after: int
    by_kind: list[tuple[str, int, int]]  # key pattern, keys, bytes

    @property
    def per_caller(self) -> float:
        return (self.used_after - self.used_before) / self.callers


def key_kinds(client: redis.Redis, sids: Sequence[str]) -> list[tuple[str, int, int]]:
    """Memory by key pattern (a CallSid in a name written as {sid}), largest first."""
    known = set(sids)
    kinds: dict[str, list[int]] = {}
    for raw in client.scan_iter(count=1000):
        key = raw.decode()
        pattern = key
        for part in key.replace(":", " ").replace("}", " ").split():
            if part in known:
                pattern = key.replace(part, "{sid}")
                break
        usage = client.memory_usage(raw, samples=0) or 0
        entry = kinds.setdefault(pattern, [0, 0])
        entry[0] += 1
        entry[1] += usage
    return sorted(((k, n, b) for k, (n, b) in kinds.items()), key=lambda x: -x[2])


# -- the report -----------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "failed" if value == float("inf") else f"{value:.1f}"


def report(
    ladders: list[Ladder],
    bare: Ladder,
    ours_memory: Memory,
    bare_memory: Memory,
    args: argparse.Namespace,
    started: str,
    seconds: float,
) -> str:
    rates = sorted({s.rate for ladder in [*ladders, bare] for s in ladder.steps})
    chosen = ladders[0]
    lines = [
        "# The wait loop under load",
        "",
        f"Run {started}, {seconds:.0f} s, on {machine_description()}; "
        f"`bench/run-wait-poll {' '.join(sys.argv[1:])}`.",
        "",
        f"{args.callers:,} callers waiting (arrived through `/voice/incoming`), {BUSY_AGENTS}"
        " agents on calls. Their `/voice/wait` polls arrive open-loop (Poisson) at each rate"
        f" for {args.seconds:.0f} s, each on a new connection as Twilio's webhooks come,"
        " signed; latency counts from when a poll was due (a failed poll counts as slowest)."
        " The generator runs on the same two cores. The bare reference"
        " (`bench/bare_poll_app.py`) runs one Lua script per poll under gunicorn's 2 sync"
        " workers, checks no signature and stores only the line.",
        "",
        "## Targets",
        "",
    ]
    at_target = chosen.at(TARGET_RATE)
    p99 = at_target.p(0.99) if at_target else float("inf")
    share = chosen.knee / bare.knee if bare.knee else 0.0
    lines += [
        "| target | measured | met |",
        "| --- | --: | :-: |",
        f"| p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_RATE:.0f} polls/s ({chosen.stack.name}) "
        f"| {f'{_ms(p99)} ms' if at_target else 'not measured'} "
        f"| {'yes' if p99 <= TARGET_P99_MS else 'no'} |",
        f"| highest rate with p99 ≤ {KNEE_P99_MS:.0f} ms ≥ {TARGET_SHARE_OF_BARE}x the bare"
        f" reference's | {chosen.knee:.0f}/s vs {bare.knee:.0f}/s = {share:.2f}x "
        f"| {'yes' if share >= TARGET_SHARE_OF_BARE else 'no'} |",
        f"| ≤ {TARGET_BYTES_PER_CALLER:,} bytes of Redis per waiting caller "
        f"| {ours_memory.per_caller:,.0f} | "
        f"{'yes' if ours_memory.per_caller <= TARGET_BYTES_PER_CALLER else 'no'} |",
        "",
        "## p99 (ms) by rate and stack",
        "",
        "| stack | " + " | ".join(f"{r:.0f}/s" for r in rates) + " | p99 ≤ 25 ms up to |",
        "| --- | " + " | ".join("--:" for _ in rates) + " | --: |",
    ]
    for ladder in [*ladders, bare]:
        cells = []
        for rate in rates:
            step = ladder.at(rate)
            cells.append(_ms(step.p(0.99)) if step else "")
        label = ladder.label
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ladder.knee:.0f}/s |")
    lines += ["", "## p50 (ms) by rate and stack", ""]
    lines += [
        "| stack | " + " | ".join(f"{r:.0f}/s" for r in rates) + " |",
        "| --- | " + " | ".join("--:" for _ in rates) + " |",
    ]
    for ladder in [*ladders, bare]:
        cells = [_ms(s.p(0.5)) if (s := ladder.at(r)) else "" for r in rates]
        label = ladder.label
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## CPU per answered poll at {TARGET_RATE:.0f}/s",
        "",
        "The web server's processes and redis-server, from /proc and `INFO cpu` over the"
        " step: steadier than a tail latency on a shared machine.",
        "",
        "| stack | web (ms) | Redis (ms) |",
        "| --- | --: | --: |",
    ]
    for ladder in [*ladders, bare]:
        step = ladder.at(TARGET_RATE)
        if step is not None:
            label = ladder.label
            lines.append(f"| {label} | {step.web_cpu_ms:.2f} | {step.redis_cpu_ms:.3f} |")
    notes = [
        f"- {ladder.stack.name}: {ladder.stack.note}" for ladder in ladders if ladder.stack.note
    ]
    failures = [
        f"- {ladder.stack.name} at {s.rate:.0f}/s: {s.errors}"
        for ladder in [*ladders, bare]
        for s in ladder.steps
        if s.failed
    ]
    lines += ["", *notes, *failures, ""]
    lines += [
        "## Redis memory per waiting caller",
        "",
        f"`used_memory` after minus before the callers arrived, over {ours_memory.callers:,}"
        f" callers: the app {ours_memory.per_caller:,.0f} bytes, the bare reference"
        f" {bare_memory.per_caller:,.0f}. The app's keys by kind:",
        "",
        "| key | keys | bytes | per caller |",
        "| --- | --: | --: | --: |",
    ]
    for pattern, keys, size in ours_memory.by_kind[:12]:
        lines.append(f"| `{pattern}` | {keys:,} | {size:,} | {size / ours_memory.callers:,.0f} |")
    lines.append("")
    return "\n".join(lines)


# -- the run --------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run-wait-poll", description=__doc__)
    parser.add_argument("--callers", type=int, default=10_000, help="callers waiting")
    parser.add_argument("--seconds", type=float, default=8.0, help="time at each rate")
    parser.add_argument(
        "--rates",
        default="200,300,400,500,600,800,1000,1200,1500,2000",
        help="polls per second, in order (a stack stops at its first saturated rate)",
    )
    parser.add_argument(
        "--stacks",
        default=",".join(STACKS),
        help=f"web stacks for the app, the targets read for the first ({', '.join(STACKS)})",
    )
    parser.add_argument(
        "--warm-up-rate",
        type=float,
        default=WARM_UP_RATE,
        help="first polls per second (heavier than the rest: lower it on a slow machine)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "wait-poll.md")
    return parser.parse_args(argv)


def measure_memory(client: redis.Redis, before: int, sids: Sequence[str]) -> Memory:
    after = int(client.info("memory")["used_memory"])
    return Memory(len(sids), before, after, key_kinds(client, sids))


def _check_procfile_stack() -> None:
    """The targets are read for the first stack, which must be what the Procfile runs."""
    command = web_command()
    for part in ("--worker-class gevent", "${WEB_WORKERS:-2}", "${WEB_CONNECTIONS:-1000}"):
        if part not in command:
            raise RuntimeError(f"the Procfile's web command changed ({part!r}): update STACKS")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    _check_procfile_stack()
    rates = [float(r) for r in args.rates.split(",")]
    stacks = [STACKS[name] for name in args.stacks.split(",")]
    started, t0 = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp,
        redis_server("everysec") as ours,
        redis_server("everysec") as bare_server,
    ):
        log = Path(tmp) / "web.log"
        operator_file = always_open_operator_file(Path(tmp))
        env = _app_env(ours, operator_file, 0, 2) | {
            "PROMETHEUS_MULTIPROC_DIR": str(Path(tmp) / "metrics"),
        }
        env.pop("GUNICORN_CMD_ARGS")
        (Path(tmp) / "metrics").mkdir()
        config = load_operator_config(operator_file, QUEUE_DIR / "queues.yml")
        called = config.queue_named(config.queues.default_queue).numbers[0]
        client, bare_client = ours.client(), bare_server.client()
        try:
            waiting, ours_memory = _seed_app(
                args, stacks[0], env, log, client, operator_file, called
            )
            bare_sids, bare_memory = _seed_bare(args, bare_client)
            with ExitStack() as running:
                contenders = []
                for stack in stacks:
                    server = running.enter_context(serving(stack, "app:create_app()", env, log))
                    payloads = poll_payloads(server.port, waiting, called, signed=True)
                    contenders.append(Contender(Ladder(stack, "app"), server, client, payloads))
                bare_env = env | {"BARE_REDIS_URL": bare_server.url}
                server = running.enter_context(
                    serving(BARE_STACK, "bench.bare_poll_app:create_app()", bare_env, log)
                )
                payloads = poll_payloads(server.port, bare_sids, called, signed=False)
                contenders.append(
                    Contender(Ladder(BARE_STACK, "bare"), server, bare_client, payloads)
                )
                progress(f"{len(contenders)} servers up; every caller polled once on each")
                for contender in contenders:
                    warm_up(contender, args.warm_up_rate)
                climb_together(contenders, rates, args.seconds)
        finally:
            client.close()
            bare_client.close()
    ladders, bare = [c.ladder for c in contenders[:-1]], contenders[-1].ladder
    text = report(ladders, bare, ours_memory, bare_memory, args, started, time.monotonic() - t0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    progress(f"report: {args.out}")
    print(text)
    return 0


def _seed_app(
    args: argparse.Namespace,
    stack: Stack,
    env: dict[str, str],
    log: Path,
    client: redis.Redis,
    operator_file: Path,
    called: str,
) -> tuple[list[str], Memory]:
    """The app's waiting callers (agents on calls with the first of them) and their memory."""
    before = int(client.info("memory")["used_memory"])
    progress(f"{args.callers:,} callers arrive through /voice/incoming ({stack.name})")
    with serving(stack, "app:create_app()", env, log) as server:
        sids = seed_app_callers(env, server.port, called, args.callers)
    memory = measure_memory(client, before, sids)
    progress(f"  Redis: {memory.per_caller:,.0f} bytes per waiting caller")
    answered = staff_busy_agents(client, operator_file, BUSY_AGENTS)
    return [sid for sid in sids if sid not in answered], memory


def _seed_bare(args: argparse.Namespace, client: redis.Redis) -> tuple[list[str], Memory]:
    before = int(client.info("memory")["used_memory"])
    sids = [f"CA{n:032x}" for n in range(args.callers)]
    bare_poll_app.seed(client, sids, time.time())
    return sids, measure_memory(client, before, sids)


if __name__ == "__main__":
    sys.exit(main())
