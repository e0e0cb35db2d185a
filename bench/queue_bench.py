"""The benchmark `bench/run` runs: queue script throughput against raw redis-benchmark with
appendfsync everysec and always, then /voice/incoming latency under gunicorn, in one run so
the ratios are meaningful. Writes bench/results/report.md and prints it.

    bench/run                 # about two minutes on 2 CPUs
    bench/run --seconds 1     # quicker, noisier
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from app.settings import QUEUE_DIR, REPO_ROOT, load_operator_config
from bench.incoming_latency import measure_incoming, web_size
from bench.measure import CpuMark, Interference, machine_description, progress
from bench.redis_server import server_version
from bench.report import RunInfo, render
from bench.script_throughput import measure_mode

RESULTS_DIR = REPO_ROOT / "bench" / "results"
FSYNC_MODES = ("everysec", "always")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Queue scripts vs redis-benchmark, then /voice/incoming under gunicorn; "
        "writes bench/results/report.md.",
    )
    parser.add_argument("--waiting", type=int, default=10_000, help="callers already waiting")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (and 1)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per script figure")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per figure")
    parser.add_argument("--callers", type=int, default=200, help="concurrent callers")
    parser.add_argument("--calls", type=int, default=5, help="calls each caller places")
    parser.add_argument("--web-workers", type=int, default=int(web_size("WEB_WORKERS")))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "report.md")
    return parser.parse_args(argv)


def _versions() -> str:
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in ("redis", "gunicorn"))
    return f"Redis {server_version()}, Python {platform.python_version()}, {packages}"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started_at, started = datetime.now(UTC), time.perf_counter()
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    support = config.queue_named("support")
    client_counts = sorted({1, args.clients})

    progress(f"1/2 queue scripts with {args.waiting:,} callers waiting")
    mark = CpuMark.now()
    modes = [
        measure_mode(mode, support, args.waiting, client_counts, args.seconds, args.rounds)
        for mode in FSYNC_MODES
    ]
    scripts_interference = Interference.since(mark)
    progress("2/2 /voice/incoming under gunicorn")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    mark = CpuMark.now()
    latency = measure_incoming(
        support,
        callers=args.callers,
        calls=args.calls,
        workers=args.web_workers,
        log=args.output.parent / "gunicorn.log",
    )
    web_interference = Interference.since(mark)
    info = RunInfo(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=time.perf_counter() - started,
        machine=machine_description(),
        versions=_versions(),
        waiting=args.waiting,
        client_counts=client_counts,
        seconds_per_figure=args.seconds,
        rounds=args.rounds,
        scripts_interference=scripts_interference,
        web_interference=web_interference,
    )
    report = render(info, modes, latency)
    args.output.write_text(report, encoding="utf-8")
    print(report)
    progress(f"wrote {args.output} in {info.seconds:.0f} s")
    if not latency.ok:
        progress("FAILED: errors or queue checks failed (see the report)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
