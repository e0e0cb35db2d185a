"""The raw-Redis yardstick: `redis-benchmark` (C, one connection per client, no pipelining)
running one command against the benchmark's Redis."""

from __future__ import annotations

import csv
import shutil
import subprocess

import redis

SORTED_SET = "bench:z"
# A first short run sizes the real ones so that they last about the asked time, whatever the
# fsync mode makes of the rate (it varies by 10x between `everysec` and `always`).
CALIBRATION_REQUESTS_PER_CLIENT = 300
MIN_REQUESTS = 500
MAX_REQUESTS = 2_000_000
TIMEOUT_SECONDS = 120


def member(index: int) -> str:
    """The member name redis-benchmark produces from `member:__rand_int__` (12 digits)."""
    return f"member:{index:012d}"


def fill_sorted_set(client: redis.Redis, size: int) -> None:
    """SORTED_SET with exactly the members the benchmark's random names hit, so every ZRANK
    finds its member and ZADD updates at the same set size."""
    client.delete(SORTED_SET)
    client.zadd(SORTED_SET, {member(i): i for i in range(size)})


def zadd_command() -> list[str]:
    return ["zadd", SORTED_SET, "__rand_int__", "member:__rand_int__"]


def zrank_command() -> list[str]:
    return ["zrank", SORTED_SET, "member:__rand_int__"]


def _run(port: int, clients: int, requests: int, keyspace: int, command: list[str]) -> float:
    """One redis-benchmark run; returns its ops/s."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise RuntimeError("redis-benchmark is not installed (scripts/setup installs it)")
    args = [binary, "-h", "127.0.0.1", "-p", str(port), "-c", str(clients), "-n", str(requests)]
    args += ["-r", str(keyspace), "--csv", *command]
    result = subprocess.run(
        args, capture_output=True, text=True, check=True, timeout=TIMEOUT_SECONDS
    )
    rows = list(csv.DictReader(result.stdout.splitlines()))
    if len(rows) != 1:
        raise RuntimeError(f"unexpected redis-benchmark output:\n{result.stdout}")
    return float(rows[0]["rps"])


class RawBenchmark:
    """One redis-benchmark command at a fixed concurrency, run as often as asked, each run
    sized from the last one's rate so that it lasts about the asked time."""

    def __init__(self, port: int, clients: int, keyspace: int, command: list[str]) -> None:
        self._args = (port, clients, keyspace, command)
        self._rate: float | None = None

    def __call__(self, seconds: float) -> float:
        """Run for about `seconds`; returns ops/s."""
        port, clients, keyspace, command = self._args
        if self._rate is None:
            calibration = CALIBRATION_REQUESTS_PER_CLIENT * clients
            self._rate = _run(port, clients, calibration, keyspace, command)
        requests = max(MIN_REQUESTS, min(MAX_REQUESTS, int(self._rate * seconds)))
        self._rate = _run(port, clients, requests, keyspace, command)
        return self._rate
