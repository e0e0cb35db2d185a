"""Queue script throughput with a long line: `take_slot` and `position` through QueueService,
next to the sorted-set command at their core (ZADD, ZRANK), all against one Redis so the
ratios compare like with like.

Each is driven two ways: from Python threads (what the web workers do) and from
redis-benchmark (C). The scripts through redis-benchmark (EVALSHA) separate what the Lua
costs from what the Python client costs.

The four ways of one comparison run in interleaved rounds and report the median round: on
a small VM a single client's round trip alternates between ~25 µs and ~130 µs (an idle vCPU
is slow to wake), and back-to-back runs would give each side a different phase of that.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from app.queue_service import CallState, QueueService, SlotOutcome, languages_arg, queue_keys
from app.settings import QUEUE_DIR, QueueSettings
from bench.measure import Op, progress, run_for
from bench.redis_benchmark import (
    SORTED_SET,
    RawBenchmark,
    fill_sorted_set,
    member,
    zadd_command,
    zrank_command,
)
from bench.redis_server import RedisServer, filesystem_type, redis_server

TAKE_SLOT = "take_slot via QueueService"
TAKE_SLOT_RAW = "take_slot via redis-benchmark"
PY_ZADD = "ZADD via redis-py"
RAW_ZADD = "ZADD via redis-benchmark"
POSITION = "position via QueueService"
POSITION_RAW = "position via redis-benchmark"
PY_ZRANK = "ZRANK via redis-py"
RAW_ZRANK = "ZRANK via redis-benchmark"

# redis-benchmark puts 12 random digits where it sees __rand_int__. Preloaded callers get
# CallSids of that form (still Twilio's CA + 32 hex digits), so EVALSHA position from
# redis-benchmark hits a waiting caller every time.
_PRELOAD_SID_PREFIX = "CA" + "0" * 20
_RAW_NEW_SID_PREFIX = "CA" + "1" * 20
# New CallSids from redis-benchmark: ~1e9 possibilities, so repeats (a cheaper "existing"
# answer) are a handful in a run of a few hundred thousand.
NEW_SID_SPACE = 1_000_000_000
PING_SECONDS = 0.5


@dataclass(frozen=True)
class Measurement:
    operation: str
    clients: int
    ops_per_second: float  # median round
    slowest: float  # slowest and fastest round, to show the noise
    fastest: float
    # Redis's own time per command (INFO commandstats), without network or client.
    server_usec_per_call: float | None


@dataclass(frozen=True)
class ModeResult:
    appendfsync: str
    filesystem: str
    measurements: list[Measurement]
    # Every round starts from the preloaded line; take_slot rounds lengthen it up to this.
    longest_line: int
    # One client's round trip (redis-benchmark PING) before and after: shows which of this
    # VM's wake-up regimes the figures were taken in.
    ping_us: tuple[float, float]

    def find(self, operation: str, clients: int) -> Measurement:
        for m in self.measurements:
            if m.operation == operation and m.clients == clients:
                return m
        raise KeyError((operation, clients))


@dataclass
class _Way:
    """One way to run one operation; `run(seconds)` returns ops/s."""

    operation: str
    command: str  # the Redis command whose server time is reported
    run: Callable[[float], float]
    rates: list[float] = field(default_factory=list)
    calls: int = 0
    usec: int = 0


def preloaded_sid(n: int) -> str:
    return f"{_PRELOAD_SID_PREFIX}{n:012d}"


def _new_sid(batch: int, thread: int, n: int) -> str:
    """A CallSid in Twilio's shape, unique per (way of running, thread, call)."""
    return f"CA{batch:06x}{thread:02x}{n:024x}"


def _number(n: int) -> str:
    return f"+1555{n % 10_000_000:07d}"


def preload_line(
    service: QueueService, queue: QueueSettings, count: int, clients: int
) -> list[str]:
    """`count` callers waiting, placed through take_slot like real arrivals."""
    sids = [preloaded_sid(n) for n in range(count)]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda n: service.take_slot(queue, sids[n], _number(n)), range(count)))
    line = service.snapshot(queue).line_length
    if line != count:
        raise RuntimeError(f"preloaded {count} callers but the line holds {line}")
    return sids


def _script_sha(client: redis.Redis, name: str) -> str:
    """The SHA1 under which QueueService loaded a script (it prepends _common.lua). Checked
    against the server's script cache, so a change in how the app builds scripts fails here
    rather than benchmarking a different script."""
    common = (QUEUE_DIR / "_common.lua").read_text(encoding="utf-8")
    body = (QUEUE_DIR / f"{name}.lua").read_text(encoding="utf-8")
    sha = hashlib.sha1(f"{common}\n{body}".encode()).hexdigest()
    if not client.script_exists(sha)[0]:
        raise RuntimeError(f"{name}.lua is not loaded as common + body; update bench/")
    return sha


def command_stats(client: redis.Redis, command: str) -> tuple[int, int]:
    """(calls, microseconds) Redis spent on `command` since it started."""
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


class ScriptBench:
    """One Redis with the line preloaded: builds the ways to run each operation."""

    def __init__(self, server: RedisServer, queue: QueueSettings, keyspace: int):
        self.server = server
        self.client = server.client()
        self.service = QueueService(self.client)
        self.queue = queue
        self.keyspace = keyspace
        self.batches = itertools.count(1)
        self.trials = itertools.count(1)
        self.waiting: list[str] = []
        self._saved: dict[str, bytes | None] = {}
        self.longest_line = 0

    def threads(self, make_op: Callable[[int], Op], clients: int) -> Callable[[float], float]:
        ops = [make_op(thread) for thread in range(clients)]
        return lambda seconds: run_for(seconds, ops).per_second

    def raw(self, command: list[str], clients: int, keyspace: int) -> RawBenchmark:
        return RawBenchmark(self.server.port, clients, keyspace, command)

    def raw_script(self, name: str, args: list[str], keyspace: int, expect: str) -> list[str]:
        """EVALSHA of a queue script as redis-benchmark will send it, tried once first with
        a number of its range filled in: the answer must hold `expect` (e.g. 'waiting')."""
        keys = queue_keys(self.queue)
        args = [*args, languages_arg(self.queue)]
        command = ["evalsha", _script_sha(self.client, name), str(len(keys)), *keys, *args]
        digits = f"{keyspace - next(self.trials):012d}"
        answer = self.client.execute_command(*(p.replace("__rand_int__", digits) for p in command))
        if expect.encode() not in answer:
            raise RuntimeError(f"{name} from redis-benchmark would answer {answer!r}")
        return command

    def ping_us(self) -> float:
        return 1e6 / RawBenchmark(self.server.port, 1, 1, ["ping"])(PING_SECONDS)

    def line_length(self) -> int:
        return self.service.snapshot(self.queue).line_length

    def keep_line(self) -> None:
        """Remember the queue as it is now (DUMP of its keys, whatever they hold)."""
        self._saved = {key: self.client.dump(key) for key in queue_keys(self.queue)}

    def restore_line(self) -> None:
        """Put the queue back as kept, so every round starts with the same line."""
        pipe = self.client.pipeline()
        for key, dumped in self._saved.items():
            if dumped is None:
                pipe.delete(key)
            else:
                pipe.restore(key, 0, dumped, replace=True)
        pipe.execute()

    # -- one op per thread ----------------------------------------------------------------

    def take_slot_op(self, thread: int) -> Op:
        batch, numbers = next(self.batches), itertools.count()

        def op() -> None:
            n = next(numbers)
            slot = self.service.take_slot(self.queue, _new_sid(batch, thread, n), _number(n))
            if slot.outcome is not SlotOutcome.new:
                raise RuntimeError(f"take_slot gave {slot.outcome}, not a new place")

        return op

    def position_op(self, thread: int) -> Op:
        rng = random.Random(thread)

        def op() -> None:
            position = self.service.position(self.queue, rng.choice(self.waiting))
            if position.state is not CallState.waiting:
                raise RuntimeError(f"a preloaded caller is {position.state}, not waiting")

        return op

    def zadd_op(self, thread: int) -> Op:
        rng = random.Random(thread)
        return lambda: self.client.zadd(
            SORTED_SET, {member(rng.randrange(self.keyspace)): rng.randrange(self.keyspace)}
        )

    def zrank_op(self, thread: int) -> Op:
        rng = random.Random(thread)
        return lambda: self.client.zrank(SORTED_SET, member(rng.randrange(self.keyspace)))


def position_command(bench: ScriptBench) -> list[str]:
    """EVALSHA position for redis-benchmark: a preloaded waiting caller each time."""
    sid = f"{_PRELOAD_SID_PREFIX}__rand_int__"
    now = f"{time.time():.3f}"
    return bench.raw_script("position", [sid, now], bench.keyspace, expect="waiting")


def take_slot_command(bench: ScriptBench) -> list[str]:
    """EVALSHA take_slot for redis-benchmark: a new caller each time (keyspace
    NEW_SID_SPACE)."""
    sid = f"{_RAW_NEW_SID_PREFIX}__rand_int__"
    args = [sid, _number(0), f"{time.time():.3f}", "1", bench.queue.default_language]
    return bench.raw_script("take_slot", args, NEW_SID_SPACE, expect="new")


def _read_ways(bench: ScriptBench, clients: int) -> list[_Way]:
    position = position_command(bench)
    return [
        _Way(POSITION, "evalsha", bench.threads(bench.position_op, clients)),
        _Way(POSITION_RAW, "evalsha", bench.raw(position, clients, bench.keyspace)),
        _Way(PY_ZRANK, "zrank", bench.threads(bench.zrank_op, clients)),
        _Way(RAW_ZRANK, "zrank", bench.raw(zrank_command(), clients, bench.keyspace)),
    ]


def _write_ways(bench: ScriptBench, clients: int) -> list[_Way]:
    take = take_slot_command(bench)
    return [
        _Way(TAKE_SLOT, "evalsha", bench.threads(bench.take_slot_op, clients)),
        _Way(TAKE_SLOT_RAW, "evalsha", bench.raw(take, clients, NEW_SID_SPACE)),
        _Way(PY_ZADD, "zadd", bench.threads(bench.zadd_op, clients)),
        _Way(RAW_ZADD, "zadd", bench.raw(zadd_command(), clients, bench.keyspace)),
    ]


def _interleaved(
    bench: ScriptBench, ways: list[_Way], clients: int, seconds: float, rounds: int
) -> list[Measurement]:
    """Each way for `seconds` in all, in `rounds` interleaved rounds, each round from the
    kept line (take_slot lengthens it, and ZADD and ZRANK are O(log n))."""
    for _ in range(rounds):
        for way in ways:
            bench.restore_line()
            calls, usec = command_stats(bench.client, way.command)
            way.rates.append(way.run(seconds / rounds))
            after_calls, after_usec = command_stats(bench.client, way.command)
            way.calls += after_calls - calls
            way.usec += after_usec - usec
            bench.longest_line = max(bench.longest_line, bench.line_length())
    bench.restore_line()
    measurements = []
    for way in ways:
        rate = statistics.median(way.rates)
        progress(f"  {way.operation:<30} {clients} client(s): {rate:>9,.0f} ops/s")
        measurements.append(
            Measurement(
                operation=way.operation,
                clients=clients,
                ops_per_second=rate,
                slowest=min(way.rates),
                fastest=max(way.rates),
                server_usec_per_call=way.usec / way.calls if way.calls else None,
            )
        )
    return measurements


def measure_mode(
    appendfsync: str,
    queue: QueueSettings,
    waiting: int,
    client_counts: Sequence[int],
    seconds: float,
    rounds: int,
) -> ModeResult:
    """Every measurement for one `appendfsync` setting, on a fresh Redis."""
    with redis_server(appendfsync) as server:
        bench = ScriptBench(server, queue, keyspace=waiting)
        try:
            progress(f"appendfsync {appendfsync}: preloading {waiting:,} waiting callers")
            bench.waiting = preload_line(bench.service, queue, waiting, max(client_counts))
            fill_sorted_set(bench.client, waiting)
            bench.service.position(queue, bench.waiting[0])  # loads position.lua
            bench.keep_line()
            ping_before = bench.ping_us()
            measurements = [
                m
                for clients in client_counts
                for ways in (_read_ways(bench, clients), _write_ways(bench, clients))
                for m in _interleaved(bench, ways, clients, seconds, rounds)
            ]
            ping = (ping_before, bench.ping_us())
        finally:
            bench.client.close()
        return ModeResult(
            appendfsync, filesystem_type(server.data_dir), measurements, bench.longest_line, ping
        )
