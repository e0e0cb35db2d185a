"""Small measuring tools shared by the benchmarks: progress lines, a timed multi-thread loop,
percentiles, and who used the CPUs (this benchmark, its servers, or someone else)."""

from __future__ import annotations

import math
import os
import platform
import resource
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import redis

# Threads wait at most this long for each other at the start line; a longer wait means one
# of them failed to start, and the run should stop rather than hang.
BARRIER_SECONDS = 60.0

Op = Callable[[], object]


def machine_description() -> str:
    """CPUs and kernel, for the head of a report."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


def progress(message: str) -> None:
    print(f"[bench] {message}", flush=True)


@dataclass(frozen=True)
class Rate:
    ops: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


def run_for(seconds: float, ops: Sequence[Op]) -> Rate:
    """Call each op in a loop on its own thread for `seconds`, all released at once.

    The ops are built by the caller beforehand, so no set-up is timed. An exception in any
    op ends the measurement with that exception.
    """
    barrier = threading.Barrier(len(ops) + 1)

    def loop(op: Op) -> int:
        barrier.wait(BARRIER_SECONDS)
        deadline = time.perf_counter() + seconds
        count = 0
        while time.perf_counter() < deadline:
            op()
            count += 1
        return count

    with ThreadPoolExecutor(max_workers=len(ops)) as pool:
        futures = [pool.submit(loop, op) for op in ops]
        barrier.wait(BARRIER_SECONDS)
        started = time.perf_counter()
        total = sum(future.result() for future in futures)
        elapsed = time.perf_counter() - started
    return Rate(ops=total, seconds=elapsed)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (fraction 0.99 for p99)."""
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def own_cpu_seconds() -> float:
    """CPU time of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return raw.rsplit(")", 1)[1].split()


def process_tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and its direct children now, from /proc: gunicorn's master and its
    workers, or kthreadd and the kernel threads. A child that already exited is not counted."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # After the command name: state, ppid, ... utime (14th field overall), stime (15th).
        if fields is None or (int(entry.name) != root and int(fields[1]) != root):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@dataclass(frozen=True)
class MachineCpu:
    """CPU seconds of the whole machine, all CPUs together (from /proc/stat)."""

    busy: float  # processes, user and system (interrupts are left out)
    idle: float  # with iowait
    steal: float  # taken by the hypervisor for other guests
    total: float

    def __sub__(self, other: MachineCpu) -> MachineCpu:
        return MachineCpu(
            self.busy - other.busy,
            self.idle - other.idle,
            self.steal - other.steal,
            self.total - other.total,
        )


def machine_cpu() -> MachineCpu:
    fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, _irq, _softirq, steal = fields
    ticks = os.sysconf("SC_CLK_TCK")
    return MachineCpu(
        busy=(user + nice + system) / ticks,
        idle=(idle + iowait) / ticks,
        steal=steal / ticks,
        total=sum(fields) / ticks,
    )


def redis_cpu_seconds(client: redis.Redis) -> float:
    """CPU time redis-server has used since it started (its `INFO cpu`)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def ours_cpu_seconds() -> float:
    """CPU time of this process and its children already waited for (redis-benchmark runs,
    stopped servers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own_cpu_seconds() + children.ru_utime + children.ru_stime


KTHREADD_PID = 2  # parent of every kernel thread


@dataclass(frozen=True)
class CpuMark:
    """The machine's CPU counters at one moment, to see later who used what since."""

    machine: MachineCpu
    ours: float
    kernel: float  # kernel threads: partly our own disk and network work

    @classmethod
    def now(cls) -> CpuMark:
        return cls(machine_cpu(), ours_cpu_seconds(), process_tree_cpu_seconds(KTHREADD_PID))


@dataclass(frozen=True)
class Interference:
    """How much of the machine something else used while part of the benchmark ran: other
    processes (busy time neither ours nor the kernel's threads) and the hypervisor (steal)."""

    other: float  # share of all CPU time
    steal: float

    @classmethod
    def since(cls, mark: CpuMark, also_ours: float = 0.0) -> Interference:
        """`also_ours`: CPU seconds since the mark of our processes still running (servers
        the benchmark started and has not stopped yet), which are no child we waited for."""
        now = CpuMark.now()
        used = now.machine - mark.machine
        if used.total <= 0:
            return cls(0.0, 0.0)
        other = used.busy - (now.ours - mark.ours) - (now.kernel - mark.kernel) - also_ours
        return cls(max(0.0, other) / used.total, used.steal / used.total)
