"""One Redis against two (a Redis Cluster of two masters), in one run: how the queue scripts'
throughput grows when a centre's queues are split over two Redis servers by hash tag.

    bench/run-redis-scale                    # about two minutes on 2 CPUs
    bench/run-redis-scale --seconds 1        # quicker, noisier

Two queues, each with `--waiting` callers placed by take_slot, are driven at once by one
redis-benchmark each (C, EVALSHA of the queue's own script, `--clients` connections): a
waiting caller's `position` (what every poll asks) and a new caller's `take_slot`. In the
first layout both queues live on one redis-server; in the second each lives on its own
master of a two-master Cluster (slots split in half, the queue names chosen so that their
hash tags fall one on each). The layouts alternate round by round (the machine's speed
drifts) and every round starts from the same lines. Besides ops/s, each Redis's own CPU time
per operation (`INFO cpu`) says what one Redis carries on a core of its own, which a
small machine running the load generators on the same cores cannot show by throughput
alone. Writes bench/results/redis-scale.md and prints it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from app.queue_service import queue_keys
from app.settings import QUEUE_DIR, REPO_ROOT, QueueSettings, load_operator_config
from bench.measure import CpuMark, Interference, machine_description, progress, redis_cpu_seconds
from bench.redis_benchmark import RawBenchmark
from bench.redis_server import RedisServer, redis_server, server_version
from bench.script_throughput import (
    NEW_SID_SPACE,
    ScriptBench,
    command_stats,
    position_command,
    preload_line,
    take_slot_command,
)

RESULTS_DIR = REPO_ROOT / "bench" / "results"
APPENDFSYNC = "everysec"  # scripts/redis-local's
CLUSTER_READY_SECONDS = 10.0
ONE, TWO = "one Redis", "two Redis (Cluster, 2 masters)"
POSITION, TAKE_SLOT = "position (a poll)", "take_slot (an arrival)"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run-redis-scale",
        description="Queue scripts on one Redis against a two-master Redis Cluster, one run; "
        "writes bench/results/redis-scale.md.",
    )
    parser.add_argument("--waiting", type=int, default=5_000, help="callers waiting per queue")
    parser.add_argument("--clients", type=int, default=8, help="connections per queue's load")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per layout and operation")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "redis-scale.md")
    return parser.parse_args(argv)


def queue_on_half(template: QueueSettings, half: int) -> QueueSettings:
    """A copy of `template` under the first name whose hash tag falls in that half of the
    Cluster's slots (0: the first master's, 1: the second's)."""
    for n in range(1, 1000):
        queue = template.model_copy(update={"name": f"{template.name}-{n}"})
        slot = key_slot(queue_keys(queue)[0].encode())
        if slot * 2 // REDIS_CLUSTER_HASH_SLOTS == half:
            return queue
    raise RuntimeError("no queue name found for that half of the slots")


@contextmanager
def two_master_cluster() -> Iterator[list[RedisServer]]:
    """Two Cluster nodes, each master of half the slots. (`redis-cli --cluster create` wants
    three masters at least, so the slots are assigned by hand.)"""
    with redis_server(APPENDFSYNC, cluster=True) as a, redis_server(APPENDFSYNC, cluster=True) as b:
        half = REDIS_CLUSTER_HASH_SLOTS // 2
        clients = [a.client(), b.client()]
        try:
            clients[0].execute_command("CLUSTER", "ADDSLOTSRANGE", 0, half - 1)
            clients[1].execute_command("CLUSTER", "ADDSLOTSRANGE", half, half * 2 - 1)
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", b.port)
            deadline = time.monotonic() + CLUSTER_READY_SECONDS
            while not all(_cluster_ok(c) for c in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError("the two-master Cluster did not become ready")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()
        yield [a, b]


def _cluster_ok(client: redis.Redis) -> bool:
    info = client.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text and "cluster_known_nodes:2" in text


@dataclass
class Load:
    """One queue's redis-benchmark commands against the Redis that holds it."""

    bench: ScriptBench
    position: RawBenchmark
    take_slot: RawBenchmark


def prepare(bench: ScriptBench, waiting: int, clients: int) -> Load:
    progress(f"  {bench.queue.name} on port {bench.server.port}: {waiting:,} callers waiting")
    bench.waiting = preload_line(bench.service, bench.queue, waiting, clients)
    bench.service.position(bench.queue, bench.waiting[0])  # loads position.lua
    bench.keep_line()
    return Load(
        bench,
        bench.raw(position_command(bench), clients, waiting),
        bench.raw(take_slot_command(bench), clients, NEW_SID_SPACE),
    )


@dataclass
class Figure:
    """Every round of one operation in one layout."""

    rates: list[float] = field(default_factory=list)  # ops/s of both queues together
    redis_cpu: float = 0.0  # seconds, every Redis of the layout
    operations: int = 0  # EVALSHA calls the servers counted

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def usec_per_operation(self) -> float:
        return 1e6 * self.redis_cpu / self.operations if self.operations else float("nan")


def run_round(loads: list[Load], operation: str, seconds: float, figure: Figure) -> None:
    servers = {load.bench.server.port: load.bench.client for load in loads}
    for load in loads:
        load.bench.restore_line()
    cpu = sum(redis_cpu_seconds(c) for c in servers.values())
    calls = sum(command_stats(c, "evalsha")[0] for c in servers.values())
    with ThreadPoolExecutor(max_workers=len(loads)) as pool:
        runs = [
            pool.submit(load.position if operation == POSITION else load.take_slot, seconds)
            for load in loads
        ]
        # Each redis-benchmark reports its rate over its own run; the runs overlap for about
        # `seconds`, so the sum is the layout's rate.
        figure.rates.append(sum(run.result() for run in runs))
    figure.redis_cpu += sum(redis_cpu_seconds(c) for c in servers.values()) - cpu
    figure.operations += sum(command_stats(c, "evalsha")[0] for c in servers.values()) - calls


@dataclass(frozen=True)
class Result:
    figures: dict[tuple[str, str], Figure]
    interference: Interference
    started: str
    seconds: float


def measure(args: argparse.Namespace) -> Result:
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    template = config.queue_named("support")
    queues = [queue_on_half(template, 0), queue_on_half(template, 1)]
    started_at, started = datetime.now(UTC), time.perf_counter()
    figures = {(layout, op): Figure() for layout in (ONE, TWO) for op in (POSITION, TAKE_SLOT)}
    with ExitStack() as stack:
        progress(f"{ONE}: starting, placing callers")
        one = stack.enter_context(redis_server(APPENDFSYNC))
        layouts = {ONE: [ScriptBench(one, queue, args.waiting) for queue in queues]}
        progress(f"{TWO}: starting, placing callers")
        masters = stack.enter_context(two_master_cluster())
        layouts[TWO] = [
            ScriptBench(m, q, args.waiting) for m, q in zip(masters, queues, strict=True)
        ]
        for benches in layouts.values():
            for bench in benches:
                stack.callback(bench.client.close)
        loads = {
            layout: [prepare(b, args.waiting, args.clients) for b in benches]
            for layout, benches in layouts.items()
        }
        mark = CpuMark.now()
        for operation in (POSITION, TAKE_SLOT):
            for n in range(args.rounds):
                # Alternate which layout goes first, so neither always follows the other.
                order = (ONE, TWO) if n % 2 == 0 else (TWO, ONE)
                for layout in order:
                    figure = figures[(layout, operation)]
                    run_round(loads[layout], operation, args.seconds, figure)
                progress(
                    f"{operation}, round {n + 1}/{args.rounds}: "
                    + ", ".join(
                        f"{lay} {figures[(lay, operation)].rates[-1]:,.0f}/s" for lay in order
                    )
                )
        interference = Interference.since(mark, sum(f.redis_cpu for f in figures.values()))
    return Result(
        figures,
        interference,
        started_at.strftime("%Y-%m-%d %H:%M UTC"),
        time.perf_counter() - started,
    )


def _spread(figure: Figure) -> str:
    return f"{min(figure.rates):,.0f}-{max(figure.rates):,.0f}"


def render(result: Result, args: argparse.Namespace) -> str:
    lines = [
        "# One Redis against two (bench/run-redis-scale)",
        "",
        f"- Started {result.started}, {result.seconds:.0f} s; {machine_description()}; "
        f"Redis {server_version()}, appendonly yes, appendfsync {APPENDFSYNC}.",
        f"- Two queues of {args.waiting:,} waiting callers each, one redis-benchmark per queue "
        f"with {args.clients} connections; {args.rounds} rounds of {args.seconds:g} s per "
        "figure, the layouts alternating; the median round.",
        f"- While it ran, other processes used {result.interference.other:.0%} of the machine's "
        f"CPU time and the hypervisor took {result.interference.steal:.0%}.",
        "",
        "| operation | one Redis, ops/s | two Redis, ops/s | two / one | rounds (one; two) "
        "| Redis CPU per op, one | two |",
        "| --- | --: | --: | --: | --- | --: | --: |",
    ]
    for operation in (POSITION, TAKE_SLOT):
        one, two = result.figures[(ONE, operation)], result.figures[(TWO, operation)]
        spread = f"{_spread(one)}; {_spread(two)}"
        lines.append(
            f"| {operation} | {one.median:,.0f} | {two.median:,.0f} | "
            f"{two.median / one.median:.2f} | {spread} | {one.usec_per_operation:.1f} µs | "
            f"{two.usec_per_operation:.1f} µs |"
        )
    cores = os.cpu_count() or 1
    lines += [
        "",
        f"*Redis CPU per op* is every Redis server's own CPU time (`INFO cpu`) over the "
        "operations of the layout: 1,000,000 / it is what one Redis carries on a core of its "
        f"own. This machine has {cores} core(s) for the Redis servers and both load generators "
        "together, so *two / one* shows what a second Redis adds here, not on hosts of their own.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    result = measure(args)
    report = render(result, args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(report)
    progress(f"wrote {args.output} in {result.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
