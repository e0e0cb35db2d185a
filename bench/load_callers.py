"""Many simulated callers at once against a running app (`bench/load`), as Twilio would send
them: each dials, listens, says or presses something after a think time, waits a few rounds
of the wait loop, then hangs up, or drops and calls back from the same number.

The callers drive the app directly with the in-process stand-in (`SimulatedTwilio` over
`HttpTransport`, step mode: a caller acts, the webhook goes out, the TwiML is played), so
what is measured is the app, not a control API in between. Every webhook's latency is
recorded by path; the summary gives p50/p95/p99, throughput and errors, and checks the queue
promises a caller can see from outside: the number of people ahead they are told never goes
up (across a drop and call back too), and a caller who calls back within the grace period
hears that their place was kept.

    bench/load                         against the app of scripts/run (.env's settings)
    bench/load --callers 500 --duration 120
    bench/load --start                 start a Redis and the web app (gunicorn) of its own

Loopback addresses only. At most 2000 callers and 600 seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from app.settings import QUEUE_DIR, REPO_ROOT, SettingsError, load_settings
from bench.measure import machine_description, own_cpu_seconds, percentile, progress
from standin import SimulatedCall, SimulatedTwilio, SimulatorError
from standin.server import default_app_address, is_loopback_url
from standin.transport import HttpTransport

MAX_CALLERS = 2000
MAX_DURATION_SECONDS = 600.0
RESULTS_DIR = REPO_ROOT / "bench" / "results"
PROGRESS_EVERY_SECONDS = 5.0
# Twilio waits 15 s for a webhook; a caller that waits longer counts it as an error.
WEBHOOK_TIMEOUT_SECONDS = 15.0

PHRASES = [
    "how long is the wait",
    "I have a question about my bill",
    "my internet is down",
    "I want to move my appointment",
    "agent please",
]
_AHEAD = re.compile(r"There (?:are (\d+) people|is (1) person) ahead of you")
_NEXT = "You're next in line."
_CLOSED = "closed right now"
_RESTORED = "I've kept your place"


def people_ahead(sentence: str) -> int | None:
    """The number of people ahead a sentence announces, if it announces one."""
    if _NEXT in sentence:
        return 0
    if match := _AHEAD.search(sentence):
        return int(match.group(1) or match.group(2))
    return None


class TimedTransport(HttpTransport):
    """HttpTransport that records each webhook's latency and status by path."""

    def __init__(self, address: str, stats: Stats) -> None:
        super().__init__(address, timeout=WEBHOOK_TIMEOUT_SECONDS)
        self._stats = stats

    def post(
        self, path: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        started = time.perf_counter()
        try:
            status, body = super().post(path, form, headers)
        except requests.RequestException as exc:
            self._stats.record(path, time.perf_counter() - started, None, type(exc).__name__)
            raise
        self._stats.record(path, time.perf_counter() - started, status, None)
        return status, body


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    calls: int = 0
    call_backs: int = 0
    restored: int = 0
    closed: int = 0
    drops: int = 0
    late: int = 0  # answered after Twilio would have given up
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, seconds: float, status: int | None, error: str | None) -> None:
        name = path.split("?", 1)[0]
        with self.lock:
            self.latencies[name].append(seconds)
            self.statuses[f"{name} {status or error}"] += 1
            if seconds > WEBHOOK_TIMEOUT_SECONDS:
                self.late += 1

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{kind}: {detail[:300]}")

    def count(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)

    @property
    def webhooks(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.latencies.values())

    def percentiles(self) -> dict[str, dict[str, float]]:
        with self.lock:
            table = {name: sorted(values) for name, values in self.latencies.items()}
        table["all"] = sorted(v for values in table.values() for v in values)
        return {
            name: {
                "count": len(values),
                "p50_ms": round(percentile(values, 0.50) * 1000, 2),
                "p95_ms": round(percentile(values, 0.95) * 1000, 2),
                "p99_ms": round(percentile(values, 0.99) * 1000, 2),
                "max_ms": round(values[-1] * 1000, 2),
            }
            for name, values in sorted(table.items())
            if values
        }


@dataclass(frozen=True)
class Plan:
    to: str
    think: tuple[float, float]
    rounds: int
    drop_rate: float
    deadline: float


class Caller:
    """One person with one phone number, calling until the deadline."""

    def __init__(
        self, twilio: SimulatedTwilio, number: str, plan: Plan, stats: Stats, seed: int
    ) -> None:
        self.twilio, self.number, self.plan, self.stats = twilio, number, plan, stats
        self.rng = random.Random(seed)
        self.announced: list[int] = []  # people ahead, as told, in order, across calls

    def run(self, start_at: float) -> None:
        self._sleep_until(start_at)
        while time.monotonic() < self.plan.deadline:
            try:
                self._one_life()
            except SimulatorError as exc:
                self.stats.error("app", str(exc))
            except requests.RequestException as exc:
                self.stats.error("http", f"{type(exc).__name__}: {exc}")
            # The next life is a new person: a new number, a new queue history.
            self.number = f"+1202{secrets.randbelow(10**7):07d}"
            self.announced = []

    def _think(self) -> None:
        low, high = self.plan.think
        time.sleep(self.rng.uniform(low, high))

    @staticmethod
    def _sleep_until(moment: float) -> None:
        delay = moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _listen(self, call: SimulatedCall, mark: int) -> None:
        for sentence in call.heard[mark:]:
            ahead = people_ahead(sentence)
            if ahead is None:
                continue
            if self.announced and ahead > self.announced[-1]:
                self.stats.violations.append(
                    f"{self.number} ({call.sid}) was told {ahead} ahead after {self.announced}"
                )
            self.announced.append(ahead)

    def _act(self, call: SimulatedCall, action: str) -> None:
        mark = len(call.heard)
        gather = call.gather
        if gather is None or call.ended:
            return
        if action == "say" and "speech" in gather.input:
            call.say(self.rng.choice(PHRASES), confidence=round(self.rng.uniform(0.5, 0.99), 2))
        elif action == "silence":
            call.stay_silent()
        elif gather.action.startswith("/voice/menu"):
            call.press(self.rng.choice("123"))  # the keypad menu: a reason
        else:
            call.press(self.rng.choice(["0", "1"]))  # a person, or the assistant
        self._listen(call, mark)

    def _dial(self, back: bool) -> SimulatedCall:
        call = self.twilio.dial(self.number, self.plan.to)
        self.stats.count("calls")
        self._listen(call, 0)
        heard = " ".join(call.heard)
        if _CLOSED in heard:
            self.stats.count("closed")
        if back:
            self.stats.count("call_backs")
            if _RESTORED in heard:
                self.stats.count("restored")
            elif "withheld" not in heard:
                self.stats.error("promise", f"{self.number} called back and was not restored")
        return call

    def _one_life(self) -> None:
        call = self._dial(back=False)
        if call.ended:
            return
        self._think()
        self._act(call, self.rng.choice(["say", "say", "press", "silence"]))
        self._wait_rounds(call)
        # A life once begun is lived to the end; the deadline only stops new ones.
        if self.rng.random() < self.plan.drop_rate:
            self._end(call, drop=True)
            self._think()
            call = self._dial(back=True)
            self._wait_rounds(call)
        self._end(call, drop=False)

    def _wait_rounds(self, call: SimulatedCall) -> None:
        for _ in range(self.plan.rounds):
            if call.ended or call.gather is None:
                return
            self._think()
            self._act(call, "silence")

    def _end(self, call: SimulatedCall, drop: bool) -> None:
        if call.ended:
            return
        self._think()
        status, _ = call.drop() if drop else call.hang_up()
        if drop:
            self.stats.count("drops")
        if status not in (200, 204):
            self.stats.error("status-callback", f"/voice/status answered {status}")


# -- an app of our own (--start) ---------------------------------------------------------


@contextmanager
def own_app(workers: int) -> Iterator[tuple[str, str, str, str]]:
    """Redis and the web app (the Procfile's gunicorn command), open all hours, with a
    throwaway identity: (address, public base URL, auth token, account SID)."""
    from bench.incoming_latency import always_open_operator_file, gunicorn
    from bench.redis_server import free_port, redis_server

    token, account = secrets.token_hex(16), "AC" + secrets.token_hex(16)
    with ExitStack() as stack:
        server = stack.enter_context(redis_server("everysec"))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        port = free_port()
        address = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "APP_ENV": "development",
            "TWILIO_ACCOUNT_SID": account,
            "TWILIO_AUTH_TOKEN": token,
            "PUBLIC_BASE_URL": address,
            "REDIS_URL": server.url,
            "RASA_URL": f"http://127.0.0.1:{free_port()}",  # no assistant: the keypad menu
            "RASA_TOKEN": "unused",
            "OPERATOR_FILE": str(always_open_operator_file(tmp)),
            "QUEUES_FILE": str(QUEUE_DIR / "queues.yml"),
            "PORT": str(port),
            "WEB_WORKERS": str(workers),
        }
        progress(f"starting redis-server and gunicorn ({workers} workers) on {address}")
        stack.enter_context(gunicorn(env, tmp / "gunicorn.log"))
        yield address, address, token, account


# -- the run -----------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/load",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--app", help="the app's address (default PUBLIC_BASE_URL if loopback, else $PORT)"
    )
    parser.add_argument("--callers", type=int, default=100, help=f"at most {MAX_CALLERS}")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds callers keep calling")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds to start all callers")
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"))
    parser.add_argument("--rounds", type=int, default=3, help="wait-loop rounds per call")
    parser.add_argument(
        "--drop-rate", type=float, default=0.3, help="callers who drop and call back"
    )
    parser.add_argument("--to", default="+15005550006", help="the number callers dial")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", action="store_true", help="start a Redis and app of its own")
    parser.add_argument("--web-workers", type=int, default=2, help="with --start")
    parser.add_argument("--output", type=Path, help="JSON results (default bench/results/)")
    args = parser.parse_args(argv)
    problems = []
    if not 1 <= args.callers <= MAX_CALLERS:
        problems.append(f"--callers must be 1..{MAX_CALLERS}")
    if not 0 < args.duration <= MAX_DURATION_SECONDS:
        problems.append(f"--duration must be 0..{MAX_DURATION_SECONDS:g} seconds")
    if not 0 <= args.think[0] <= args.think[1] <= 60:
        problems.append("--think MIN MAX must be 0 <= MIN <= MAX <= 60")
    if not 0 <= args.drop_rate <= 1 or not 0 <= args.rounds <= 50 or args.ramp < 0:
        problems.append("--drop-rate must be 0..1, --rounds 0..50, --ramp >= 0")
    if args.app and not is_loopback_url(args.app):
        problems.append(f"--app {args.app!r}: loopback http addresses only")
    if problems:
        parser.error("; ".join(problems))
    return args


def _reporter(stats: Stats, started: float, stop: threading.Event) -> None:
    while not stop.wait(PROGRESS_EVERY_SECONDS):
        elapsed = time.monotonic() - started
        webhooks = stats.webhooks
        table = stats.percentiles().get("all", {})
        progress(
            f"{elapsed:5.0f} s: {stats.calls} calls, {webhooks} webhooks "
            f"({webhooks / elapsed:.0f}/s), p95 {table.get('p95_ms', float('nan')):.1f} ms, "
            f"{sum(stats.errors.values())} errors"
        )


def run(args: argparse.Namespace, address: str, public: str, token: str, account: str) -> int:
    stats = Stats()
    twilio = SimulatedTwilio(TimedTransport(address, stats), public, token, account)
    try:
        requests.get(f"{address}/healthz", timeout=5)
    except requests.RequestException as exc:
        twilio.close()
        print(
            f"the app does not answer at {address} ({exc}): start it with scripts/run, "
            "or use bench/load --start",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    plan = Plan(args.to, tuple(args.think), args.rounds, args.drop_rate, started + args.duration)
    callers = [
        Caller(twilio, f"+1202{i:07d}", plan, stats, args.seed * 100_003 + i)
        for i in range(args.callers)
    ]
    progress(
        f"{args.callers} callers for {args.duration:g} s against {address} "
        f"(think {args.think[0]:g}-{args.think[1]:g} s, {args.rounds} rounds, "
        f"{args.drop_rate:.0%} drop and call back)"
    )
    cpu_before = own_cpu_seconds()
    stop = threading.Event()
    reporter = threading.Thread(target=_reporter, args=(stats, started, stop), daemon=True)
    reporter.start()
    threads = [
        threading.Thread(
            target=caller.run,
            args=(started + args.ramp * i / args.callers,),
            name=f"caller-{i}",
            daemon=True,
        )
        for i, caller in enumerate(callers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stop.set()
    reporter.join()
    twilio.close()
    return _report(args, address, stats, elapsed, own_cpu_seconds() - cpu_before)


def _report(
    args: argparse.Namespace, address: str, stats: Stats, elapsed: float, cpu: float
) -> int:
    table = stats.percentiles()
    webhooks = table.get("all", {}).get("count", 0)
    checks = {
        "people ahead never went up": not stats.violations,
        "every call back within the grace period kept its place": stats.call_backs
        == stats.restored,
        "no webhook failed": not stats.errors,
        "every webhook answered within Twilio's 15 s": stats.late == 0,
        "the centre was open": stats.closed == 0,
    }
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "app": address,
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "seconds": round(elapsed, 1),
        "calls": stats.calls,
        "drops": stats.drops,
        "call_backs": stats.call_backs,
        "restored": stats.restored,
        "late_webhooks": stats.late,
        "webhooks": webhooks,
        "webhooks_per_second": round(webhooks / elapsed, 1) if elapsed else 0,
        "latency": table,
        "statuses": dict(stats.statuses),
        "errors": dict(stats.errors),
        "error_examples": stats.examples,
        "violations": stats.violations[:20],
        "checks": checks,
        "load_generator_cpu_seconds": round(cpu, 1),
    }
    output = args.output or RESULTS_DIR / f"load-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")

    print()
    print(
        f"{stats.calls} calls ({stats.drops} dropped, {stats.call_backs} called back) in "
        f"{elapsed:.0f} s; {webhooks} webhooks, {result['webhooks_per_second']}/s; "
        f"load generator CPU {cpu:.0f} s"
    )
    print(f"{'webhook':<22}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, row in table.items():
        print(
            f"{name:<22}{row['count']:>8}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}"
            f"{row['p99_ms']:>10.1f}{row['max_ms']:>10.1f}"
        )
    for example in stats.examples:
        print(f"  error {example}")
    for violation in stats.violations[:5]:
        print(f"  promise broken: {violation}")
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"results: {output}")
    return 0 if all(checks.values()) else 1


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.start:
        with own_app(args.web_workers) as (address, public, token, account):
            return run(args, address, public, token, account)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    address = (args.app or default_app_address(settings)).rstrip("/")
    if not is_loopback_url(address):
        print(f"{address}: loopback http addresses only", file=sys.stderr)
        return 2
    return run(args, address, settings.base_url, settings.auth_token, settings.account_sid)


if __name__ == "__main__":
    sys.exit(main())
