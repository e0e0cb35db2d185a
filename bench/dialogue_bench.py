"""The dialogue benchmark, one command (`bench/run-dialogue`): turn latency through the app
against Rasa's own channels, and intent accuracy on held-out NLU data, in one run.

It starts and stops everything it measures (Redis, the action server, Rasa, gunicorn) on
free loopback ports, and writes bench/results/dialogue-report.md (logs and Rasa's reports
beside it, in bench/results/dialogue/).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType

from app.settings import QUEUE_DIR, load_operator_config
from bench.dialogue_languages import LanguagesResult, measure_languages
from bench.dialogue_latency import FIRST, LatencyResult, measure_latency
from bench.dialogue_nlu import NluResult, evaluate
from bench.dialogue_report import RunInfo, render
from bench.dialogue_stack import dialogue_stack, script_output
from bench.dialogue_utterances import opening_utterances
from bench.incoming_latency import web_command, web_size
from bench.measure import machine_description, progress
from bench.redis_server import server_version

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CONFIG = Path("dialogue/config.yml")  # relative to the repository, where Rasa runs


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run-dialogue",
        description="Turn latency (app vs Rasa REST vs Rasa twilio_voice) and held-out intent "
        "accuracy; writes bench/results/dialogue-report.md.",
    )
    parser.add_argument("--utterances", type=int, default=40, help="distinct first utterances")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the utterances")
    parser.add_argument(
        "--in-flight", type=int, default=4, help="callers at once in the burst phase (1: skip)"
    )
    parser.add_argument(
        "--language-turns",
        type=int,
        default=30,
        help="first turns per language through Rasa REST, for latency by language (0: skip)",
    )
    parser.add_argument("--skip-latency", action="store_true", help="intent accuracy only")
    parser.add_argument("--skip-nlu", action="store_true", help="turn latency only")
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        help="also cross-validate with this many folds (each trains a model: minutes each)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=CONFIG,
        help="the NLU pipeline the accuracy part trains with, relative to the repository "
        "(try a change on the held-out split before adopting it)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "dialogue-report.md")
    return parser.parse_args(argv)


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP would end Python without running `finally` blocks: raise instead,
    # so every server this run started is stopped.
    progress(f"{signal.Signals(signum).name}: stopping everything this run started")
    raise SystemExit(128 + signum)


def _handle_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    # Ctrl-C raises KeyboardInterrupt, which runs the same `finally` blocks; set explicitly
    # because a shell starting the run in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _versions(venv: Path) -> str:
    rasa = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from importlib.metadata import version as v; print(v('rasa'), v('rasa-sdk'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return (
        f"Rasa {rasa[0]} (rasa-sdk {rasa[1]}), Python {platform.python_version()}, "
        f"gunicorn {metadata.version('gunicorn')}, Redis {server_version()}"
    )


def _latency(
    args: argparse.Namespace, log_dir: Path, venv: Path, model: Path
) -> tuple[LatencyResult, LanguagesResult | None]:
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    queue = config.queue_named(config.queues.default_queue)
    human_words = config.language(queue.default_language).human_words
    utterances = opening_utterances(args.utterances, human_words)
    with (
        tempfile.TemporaryDirectory(prefix="bench-dialogue-") as tmp,
        dialogue_stack(Path(tmp), log_dir, venv, model) as stack,
    ):
        latency = measure_latency(
            stack, queue.numbers[0], queue.default_language, utterances, args.repeat, args.in_flight
        )
        languages = None
        if args.language_turns > 0:
            progress("   turn latency by language (Rasa REST), then the processes' memory")
            languages = measure_languages(stack, args.language_turns, human_words)
        return latency, languages


def _nlu(venv: Path, config: Path, log_dir: Path, folds: int) -> NluResult:
    with tempfile.TemporaryDirectory(prefix="bench-dialogue-nlu-") as tmp:
        return evaluate(venv, config, Path(tmp), log_dir, folds)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value  # JSON has no NaN


def _failed(latency: LatencyResult | None) -> list[str]:
    """Why the run does not count: failed requests, or app turns that fell back to the
    keypad menu while one caller was talking (then (a) did not measure a dialogue turn)."""
    if latency is None:
        return []
    problems = []
    errors = sum(1 for turn in latency.turns if turn.error)
    if errors:
        problems.append(f"{errors} request(s) failed")
    fallbacks = sum(1 for t in latency.turns if t.phase == FIRST and t.outcome == "keypad_menu")
    if fallbacks:
        problems.append(f"{fallbacks} sequential first turn(s) fell back to the keypad menu")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    _handle_signals()
    started_at, started = datetime.now(UTC), time.perf_counter()
    log_dir = args.output.parent / "dialogue"
    log_dir.mkdir(parents=True, exist_ok=True)
    venv = Path(script_output("rasa-venv"))
    progress(f"Rasa venv {venv}")

    model, latency, languages = None, None, None
    if not args.skip_latency:
        # Only the latency part serves the model (the accuracy part trains its own on the
        # training split): cached, it trains only if the dialogue changed.
        model = Path(script_output("rasa-train"))
        progress(f"1/2 turn latency: app vs Rasa REST vs Rasa twilio_voice; model {model.name}")
        latency, languages = _latency(args, log_dir, venv, model)
    nlu = None
    if not args.skip_nlu:
        progress("2/2 intent accuracy on held-out NLU data")
        nlu = _nlu(venv, args.config, log_dir, args.folds)

    info = RunInfo(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=time.perf_counter() - started,
        machine=machine_description(),
        versions=_versions(venv),
        model=model.name if model else "none served (--skip-latency)",
        web_command=web_command(),
        web_size=(
            f"WEB_WORKERS={web_size('WEB_WORKERS')}, WEB_CONNECTIONS={web_size('WEB_CONNECTIONS')}"
        ),
    )
    report = render(info, latency, nlu, languages)
    args.output.write_text(report, encoding="utf-8")
    if latency is not None:
        # Every timed turn, for a second look without running again.
        turns = [asdict(turn) | {"ms": _finite(turn.ms)} for turn in latency.turns]
        (log_dir / "turns.json").write_text(json.dumps(turns, indent=1), encoding="utf-8")
    print(report)
    progress(f"wrote {args.output} (logs in {log_dir}) in {info.seconds:.0f} s")
    problems = _failed(latency)
    if problems:
        progress("FAILED: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # The `finally` blocks have run by now: every server is stopped.
        progress("interrupted: everything this run started has been stopped")
        sys.exit(130)
