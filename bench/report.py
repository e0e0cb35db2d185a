"""The benchmark's Markdown report: what was measured, how, and the figures."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.incoming_latency import CpuUse, LatencyResult
from bench.measure import Interference, percentile
from bench.script_throughput import (
    POSITION,
    POSITION_RAW,
    PY_ZADD,
    PY_ZRANK,
    RAW_ZADD,
    RAW_ZRANK,
    TAKE_SLOT,
    TAKE_SLOT_RAW,
    Measurement,
    ModeResult,
)

# Share of the machine taken by others above which the figures are flagged.
DISTURBED = 0.10


@dataclass(frozen=True)
class RunInfo:
    started: str  # UTC, for the reader
    seconds: float  # the whole run
    machine: str
    versions: str
    waiting: int
    client_counts: Sequence[int]
    seconds_per_figure: float
    rounds: int
    scripts_interference: Interference
    web_interference: Interference


def _ops(m: Measurement) -> str:
    return f"{m.ops_per_second:,.0f} <sub>({m.slowest:,.0f}-{m.fastest:,.0f})</sub>"


def _usec(m: Measurement) -> str:
    return "-" if m.server_usec_per_call is None else f"{m.server_usec_per_call:.1f}"


def _ratio(mode: ModeResult, top: str, bottom: str, clients: int) -> str:
    ratio = mode.find(top, clients).ops_per_second / mode.find(bottom, clients).ops_per_second
    return f"{ratio:.2f}"


def _summary(modes: list[ModeResult], client_counts: Sequence[int]) -> list[str]:
    lines = [
        "| appendfsync | clients | take_slot ops/s | ZADD ops/s (redis-benchmark) "
        "| **take_slot / ZADD** | position ops/s | ZRANK ops/s (redis-benchmark) "
        "| **position / ZRANK** |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for mode in modes:
        for n in client_counts:
            lines.append(
                f"| {mode.appendfsync} | {n} "
                f"| {mode.find(TAKE_SLOT, n).ops_per_second:,.0f} "
                f"| {mode.find(RAW_ZADD, n).ops_per_second:,.0f} "
                f"| **{_ratio(mode, TAKE_SLOT, RAW_ZADD, n)}** "
                f"| {mode.find(POSITION, n).ops_per_second:,.0f} "
                f"| {mode.find(RAW_ZRANK, n).ops_per_second:,.0f} "
                f"| **{_ratio(mode, POSITION, RAW_ZRANK, n)}** |"
            )
    return lines


def _detail(mode: ModeResult, client_counts: Sequence[int]) -> list[str]:
    header = " | ".join(f"{n} client(s): ops/s (slowest-fastest round)" for n in client_counts)
    usec = " / ".join(str(n) for n in client_counts)
    lines = [
        f"#### appendfsync {mode.appendfsync}",
        "",
        f"| operation | {header} | Redis µs per call ({usec} clients) |",
        "|---|" + "--:|" * len(client_counts) + "--:|",
    ]
    groups = [
        (TAKE_SLOT, TAKE_SLOT_RAW, PY_ZADD, RAW_ZADD),
        (POSITION, POSITION_RAW, PY_ZRANK, RAW_ZRANK),
    ]
    for script, script_raw, py_cmd, raw_cmd in groups:
        for operation in (script, script_raw, py_cmd, raw_cmd):
            cells = " | ".join(_ops(mode.find(operation, n)) for n in client_counts)
            times = " / ".join(_usec(mode.find(operation, n)) for n in client_counts)
            lines.append(f"| {operation} | {cells} | {times} |")
        name, command = script.split()[0], raw_cmd.split()[0]
        for label, top, bottom in (
            (f"{name} via QueueService / {command} via redis-benchmark", script, raw_cmd),
            (
                f"{name} / {command}, both via redis-benchmark (the Lua's share)",
                script_raw,
                raw_cmd,
            ),
            (f"{name} via QueueService / via redis-benchmark (Python's share)", script, script_raw),
        ):
            ratios = " | ".join(_ratio(mode, top, bottom, n) for n in client_counts)
            lines.append(f"| *{label}* | {ratios} | |")
    lines += [
        "",
        f"Data directory on {mode.filesystem}. Every round starts from the same "
        f"{(mode.find(TAKE_SLOT, client_counts[0]).clients and '') or ''}preloaded line "
        f"(restored between rounds); take_slot rounds lengthened it to at most "
        f"{mode.longest_line:,} callers. One client's round trip (redis-benchmark PING): "
        f"{mode.ping_us[0]:.0f} µs before, {mode.ping_us[1]:.0f} µs after.",
        "",
    ]
    return lines


def _latency_row(label: str, values: Sequence[float]) -> str:
    if not values:
        return f"| {label} | - | - | - | - | - | 0 |"
    cells = " | ".join(f"{percentile(values, p):,.1f}" for p in (0.5, 0.95, 0.99, 1.0))
    return f"| {label} | {cells} | {statistics.fmean(values):,.1f} | {len(values):,} |"


def _interference(found: Interference) -> str:
    line = (
        f"Meanwhile other processes used {found.other:.0%} of the machine's CPU time and the "
        f"hypervisor took {found.steal:.0%}"
    )
    disturbed = found.other + found.steal > DISTURBED
    return line + (": **figures disturbed, run again on a quiet machine**." if disturbed else ".")


def _share(seconds: float, cpu: CpuUse) -> str:
    total = cpu.machine.total
    return f"{seconds / total:.0%}" if total else "?"


def _latency(result: LatencyResult) -> list[str]:
    cpu = result.cpu
    cpus = os.cpu_count() or 1
    available = cpus * cpu.wall  # the shares below are of this
    rate = len(result.loaded_ms) / result.wall_seconds if result.wall_seconds else 0.0
    mean = statistics.fmean(result.loaded_ms) if result.loaded_ms else float("nan")
    in_flight = mean / 1000 * rate  # Little's law: L = lambda x W
    checks = [f"- {'✓' if c.ok else '✗ FAILED'} {c.name}: {c.detail}" for c in result.checks]
    errors = [f"  - {e}" for e in result.errors[:10]]
    return [
        f"Command (the Procfile's, bound to loopback): `{result.command}`",
        "",
        f"Load: {result.callers} simulated callers released at once, each placing "
        f"{result.calls_per_caller} calls back to back (a new CallSid and number each), "
        "signed like Twilio, over keep-alive HTTP (one `requests` session per caller). "
        f"Before it: a warm-up of {result.warmup_calls} calls, then calls one at a time. "
        "The app runs with APP_ENV=development, its own Redis (appendfsync everysec) and a copy of "
        "queue/operator.yml open all day (outside hours new callers get no place).",
        "",
        "| latency, ms | p50 | p95 | p99 | max | mean | calls |",
        "|---|--:|--:|--:|--:|--:|--:|",
        _latency_row(f"{result.callers} callers, as the caller sees it", result.loaded_ms),
        _latency_row(
            "the same calls, gunicorn's own time (no wait for the worker)", result.server_ms
        ),
        _latency_row("one caller at a time (no load)", result.unloaded_ms),
        "",
        f"- Throughput: **{rate:,.0f} calls/s** ({len(result.loaded_ms):,} calls in "
        f"{result.wall_seconds:.1f} s). Errors: **{len(result.errors)}**. "
        f"Not placed (time cap): {result.not_placed}.",
        f"- Little's law: {in_flight:,.0f} calls in flight on average ({result.callers} at "
        f"first, fewer as callers finish) / {rate:,.0f} calls/s = {mean:,.0f} ms mean. A call "
        f"mostly waits its turn in one of the {result.workers} gunicorn workers; gunicorn's "
        "own time is the small part, and it grows under load as each worker's requests take "
        "turns on its one interpreter and share the CPUs with the load generator.",
        f"- Calls per gunicorn worker: {' / '.join(f'{n:,}' for n in result.per_worker)}. "
        "A kept-alive connection stays with the worker that accepted it, so the callers of "
        "the busier worker wait longer: that widens p99 against p50.",
        f"- CPU during the load ({cpu.wall:.1f} s x {cpus} CPUs = {available:.1f} CPU-s): "
        f"load generator {cpu.client:.1f} s ({cpu.client / available:.0%}), "
        f"gunicorn {cpu.web:.1f} s ({cpu.web / available:.0%}), "
        f"Redis {cpu.redis:.1f} s ({cpu.redis / available:.0%}); whole machine busy "
        f"{_share(cpu.machine.busy, cpu)}, idle {_share(cpu.machine.idle, cpu)}, stolen by "
        f"the hypervisor {_share(cpu.machine.steal, cpu)}.",
        *(["- Errors (first 10):", *errors] if errors else []),
        "",
        "Queue afterwards (every call placed: warm-up, one at a time, and the load):",
        "",
        *checks,
        "",
    ]


_NOTES = """\
## Notes

- **redis-benchmark** is C with pipelining off (`-P 1`): each client has one request in
  flight, like the app's Python clients, but with next to no client cost. It is the ceiling
  for this Redis on this machine; the ratios say how close the queue scripts come to it.
- **The scripts through redis-benchmark** (EVALSHA with the same keys and arguments) split
  the gap: *the Lua's share* is what the script's extra work costs Redis (expiring due holds
  and offers, the JSON ticket, two sorted sets and a hash); *Python's share* is redis-py.
  "Redis µs per call" is Redis's own time per command (INFO commandstats): a script's
  commands count in its EVALSHA.
- **Python clients** are threads of one process sharing the GIL, as in a threaded worker:
  for reads, and for writes with everysec, 8 threads do no better than 1 (they take turns
  on the GIL). Only while each request waits for an fsync (always) do threads help. The web
  tier gets throughput from processes (WEB_WORKERS), and a queue script costs Redis itself
  only tens of µs (Redis µs per call), so one Redis serves many web processes.
- **appendfsync always** writes and fsyncs before answering; Redis groups the writes of one
  event-loop pass into one fsync, so more clients gain more than with everysec. Reads do
  not touch the disk.
- **Noise:** each figure is the median of interleaved rounds; the range shows the slowest
  and fastest round. This VM idles its vCPUs with haltpoll, whose polling adapts: one
  client's round trip stays near ~25 µs or near ~130 µs for long stretches and flips
  between runs (the PING line under each table says which). Single-client figures, and
  their ratios, can differ 2x between runs; compare figures within one run.
- **One machine:** the load generator, gunicorn and Redis share its CPUs; in production the
  callers' side costs the web host nothing, so the same web tier would answer more calls.
"""


def render(info: RunInfo, modes: list[ModeResult], latency: LatencyResult) -> str:
    lines = [
        "# Queue benchmark",
        "",
        f"Run {info.started} in {info.seconds:.0f} s by `bench/run`. {info.machine}. "
        f"{info.versions}.",
        "",
        f"## 1. Queue scripts with {info.waiting:,} callers waiting",
        "",
        f"Redis with `appendonly yes` (flags of scripts/redis-local), a fresh server per "
        f"`appendfsync` mode, {info.waiting:,} callers preloaded through take_slot and a "
        f"sorted set of {info.waiting:,} members for ZADD/ZRANK. Each figure: "
        f"{info.seconds_per_figure:g} s in {info.rounds} interleaved rounds, median round.",
        "take_slot: new callers; position: random waiting callers. Ratios are to raw "
        "`redis-benchmark` (C, pipelining off) with the same number of connections.",
        "",
        *_summary(modes, info.client_counts),
        "",
        _interference(info.scripts_interference),
        "",
        "### Detail",
        "",
    ]
    for mode in modes:
        lines += _detail(mode, info.client_counts)
    lines += [
        "## 2. `/voice/incoming` under gunicorn",
        "",
        *_latency(latency),
        _interference(info.web_interference),
        "",
        _NOTES,
    ]
    return "\n".join(lines)
