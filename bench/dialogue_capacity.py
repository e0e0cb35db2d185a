"""Dialogue capacity, one command (`bench/run-dialogue-capacity`): turns a second and their
p95 with 1 and 2 Rasa processes at 4, 16 and 64 turns in flight, through the app's
/voice/turn and against Rasa's own REST channel, in one run.

Closed loop: each simulated caller opens a conversation, says why they call, answers "yes
please", and starts again. Against Rasa the request is exactly the app's (the `rest_state`
channel with the call's facts), spread over the processes in turn. Through the app the
caller's call is placed beforehand (signed `POST /voice/incoming`, untimed and outside the
measured seconds), and a turn the app sheds to the keypad menu is counted apart: that
caller then hears the menu out and keys a choice (SHED_PAUSE_SECONDS) before the next
conversation, as a caller would, rather than hammering the app.

First Rasa's REST channel is measured at 16 in flight on one process: its turns a second
are the capacity the app's turn slots are derived from (RASA_TURNS_PER_SECOND, unless
given), as an operator would set it from this run. Then every cell: for each in-flight
count, each process count and each path in turn, 2 s unmeasured and then `--seconds`
measured, so the machine's drifts in speed touch both paths alike.

Writes bench/results/dialogue-capacity.md (logs in bench/results/dialogue-capacity/).
"""

from __future__ import annotations

import argparse
import itertools
import math
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.dialogue_slots import BUDGET_SHARE, slots_per_process
from app.settings import QUEUE_DIR, REPO_ROOT, load_operator_config
from bench.dialogue_stack import (
    Processes,
    app_env,
    app_ready,
    process_group,
    rasa_env,
    rasa_ready,
    script_output,
    wait_until,
)
from bench.dialogue_turns import (
    REST_STATE,
    AppChannel,
    Callers,
    Conversation,
    RestChannel,
    Turn,
)
from bench.dialogue_utterances import opening_utterances
from bench.incoming_latency import always_open_operator_file, web_command, web_size
from bench.measure import (
    machine_cpu,
    machine_description,
    percentile,
    process_tree_cpu_seconds,
    progress,
)
from bench.redis_server import free_port, redis_server

RESULTS_DIR = Path(__file__).resolve().parent / "results"
IN_FLIGHT = (4, 16, 64)
PROCESSES = (1, 2)
WARMUP_SECONDS = 2.0
APP_READY_SECONDS = 60.0
SHED_PAUSE_SECONDS = 5.0  # the keypad menu read out, a key pressed
SECOND_UTTERANCE = "yes please"
KEYPAD = "keypad_menu"
APP, REST = "app /voice/turn", "Rasa REST"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run-dialogue-capacity",
        description="Turns/s and p95 with 1 and 2 Rasa processes at 4, 16 and 64 in flight, "
        "through the app and against Rasa's REST channel; writes "
        "bench/results/dialogue-capacity.md.",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds a cell")
    parser.add_argument(
        "--turns-per-second",
        type=float,
        default=None,
        help="the app's RASA_TURNS_PER_SECOND (default: measured first, on Rasa REST)",
    )
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(IN_FLIGHT))
    parser.add_argument("--model", type=Path, default=None, help="default: scripts/rasa-train")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "dialogue-capacity.md")
    return parser.parse_args(argv)


# -- the system under test --------------------------------------------------------------------


@dataclass
class Capacity:
    rasa_urls: list[str]
    token: str
    app_env_for: Callable[[list[str], float], dict[str, str]]
    log_dir: Path
    pids: dict[str, int] = field(default_factory=dict)


@contextmanager
def rasa_processes(
    work_dir: Path, log_dir: Path, model: Path
) -> Iterator[tuple[Capacity, ExitStack]]:
    """Redis, one action server and two Rasa processes sharing the conversations."""
    token = secrets.token_hex(16)
    actions_port = free_port()
    rasa_ports = [free_port() for _ in PROCESSES]
    operator_file = always_open_operator_file(work_dir)
    with ExitStack() as stack:
        server = stack.enter_context(redis_server("everysec"))
        pids: dict[str, int] = {}
        rasa_processes: Processes = {}
        for index, port in enumerate(rasa_ports):
            env = rasa_env(server.url, token, port, actions_port) | {
                "RASA_MODEL": str(model),
                # Two processes on two cores: one TensorFlow thread each, not two apiece.
                "TF_INTRA_OP_PARALLELISM_THREADS": "1",
                "TF_INTER_OP_PARALLELISM_THREADS": "1",
            }
            if index == 0:
                actions = stack.enter_context(
                    process_group(
                        [str(REPO_ROOT / "scripts" / "rasa-actions")], env, log_dir / "actions.log"
                    )
                )
                pids["actions"] = actions.pid
                rasa_processes["actions"] = (actions, log_dir / "actions.log")
            rasa = stack.enter_context(
                process_group(
                    [str(REPO_ROOT / "scripts" / "rasa-serve")],
                    env,
                    log_dir / f"rasa{index + 1}.log",
                )
            )
            pids[f"rasa{index + 1}"] = rasa.pid
            rasa_processes[f"rasa{index + 1}"] = (rasa, log_dir / f"rasa{index + 1}.log")
        urls = [f"http://127.0.0.1:{port}" for port in rasa_ports]
        actions_url = f"http://127.0.0.1:{actions_port}"
        wait_until(
            lambda: all(rasa_ready(url, token, actions_url) for url in urls),
            rasa_processes,
            "two Rasa processes",
            pause=1,
        )

        def env_for(rasa_urls: list[str], turns_per_second: float) -> dict[str, str]:
            port = free_port()
            return app_env(server.url, rasa_urls[0], token, operator_file, port) | {
                "RASA_URLS": ",".join(rasa_urls),
                "RASA_TURNS_PER_SECOND": str(turns_per_second),
            }

        yield Capacity(urls, token, env_for, log_dir, pids), stack
        progress("  stopping the web apps, Rasa, the action server and Redis")


def start_app(
    capacity: Capacity, stack: ExitStack, name: str, rasa_urls: list[str], rate: float
) -> str:
    env = capacity.app_env_for(rasa_urls, rate)
    url = f"http://127.0.0.1:{env['PORT']}"
    web = stack.enter_context(
        process_group(
            ["bash", "-c", f"exec {web_command()}"], env, capacity.log_dir / f"{name}.log"
        )
    )
    capacity.pids[name] = web.pid
    wait_until(
        lambda: app_ready(url),
        {name: (web, capacity.log_dir / f"{name}.log")},
        name,
        limit=APP_READY_SECONDS,
        pause=0.3,
    )
    return url


# -- the load ---------------------------------------------------------------------------------


@dataclass
class Cell:
    path: str
    processes: int
    in_flight: int
    seconds: float = 0.0
    turns: list[Turn] = field(default_factory=list)
    rasa_cores: float = 0.0  # CPU of the Rasa processes used, per second of the cell
    web_cores: float = 0.0
    idle: float = 0.0  # the machine's idle share (all CPUs)
    without_a_call: int = 0  # times a caller found no placed call left (app cells)

    @property
    def answered(self) -> list[Turn]:
        return [t for t in self.turns if not t.error and t.outcome != KEYPAD]

    @property
    def shed(self) -> int:
        return sum(1 for t in self.turns if t.outcome == KEYPAD)

    @property
    def errors(self) -> int:
        return sum(1 for t in self.turns if t.error)

    @property
    def rate(self) -> float:
        return len(self.answered) / self.seconds if self.seconds else 0.0

    def ms(self, fraction: float) -> float:
        chosen = sorted(t.ms for t in self.answered)
        return percentile(chosen, fraction) if chosen else math.nan


class SpreadRest:
    """The app's request to Rasa, spread over the processes one turn after another."""

    def __init__(self, channels: list[RestChannel]) -> None:
        self._channels = channels
        self._next = itertools.count()

    def start(self, conversation: Conversation) -> None:
        """Nothing to set up: the first message opens the conversation."""

    def turn(self, conversation: Conversation, utterance: str, phase: str) -> Turn:
        channel = self._channels[next(self._next) % len(self._channels)]
        return channel.turn(conversation, utterance, phase)


class PlacedCalls:
    """Calls placed at the app before a cell starts, so placing them costs nothing measured."""

    def __init__(self, channel: AppChannel, callers: Callers) -> None:
        self._channel = channel
        self._callers = callers
        self._ready: list[Conversation] = []
        self._lock = threading.Lock()

    def place(self, count: int) -> None:
        def one(_: int) -> Conversation:
            conversation = self._callers.new(people_ahead=3)
            self._channel.start(conversation)
            return conversation

        with ThreadPoolExecutor(8) as pool:
            placed = list(pool.map(one, range(count)))
        with self._lock:
            self._ready += placed

    def next(self) -> Conversation | None:
        with self._lock:
            return self._ready.pop() if self._ready else None


def run_cell(
    cell: Cell,
    turn: Callable[[Conversation, str], Turn],
    new_conversation: Callable[[], Conversation | None],
    utterances: Sequence[str],
    cpu_pids: dict[str, int],
) -> None:
    """`cell.in_flight` callers in a closed loop: WARMUP_SECONDS, then the measured ones."""
    stop = threading.Event()
    measuring = threading.Event()
    lock = threading.Lock()
    said = itertools.count()

    def caller() -> None:
        while not stop.is_set():
            conversation = new_conversation()
            if conversation is None:
                with lock:
                    cell.without_a_call += 1
                time.sleep(0.05)  # out of placed calls
                continue
            for utterance in (utterances[next(said) % len(utterances)], SECOND_UTTERANCE):
                result = turn(conversation, utterance)
                if measuring.is_set() and not stop.is_set():
                    with lock:
                        cell.turns.append(result)
                if result.outcome == KEYPAD or result.error:
                    time.sleep(SHED_PAUSE_SECONDS)
                    break

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(cell.in_flight)]
    for thread in threads:
        thread.start()
    time.sleep(WARMUP_SECONDS)
    cpu_before = {name: process_tree_cpu_seconds(pid) for name, pid in cpu_pids.items()}
    machine_before = machine_cpu()
    measuring.set()
    started = time.perf_counter()
    time.sleep(cell.seconds)
    stop.set()
    cell.seconds = time.perf_counter() - started
    used = {n: process_tree_cpu_seconds(p) - cpu_before[n] for n, p in cpu_pids.items()}
    machine = machine_cpu() - machine_before
    cell.idle = machine.idle / machine.total if machine.total else math.nan
    cell.rasa_cores = sum(v for n, v in used.items() if n.startswith("rasa")) / cell.seconds
    cell.web_cores = sum(v for n, v in used.items() if n.startswith("web")) / cell.seconds
    for thread in threads:
        thread.join()


# -- the report -------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def render(
    cells: list[Cell], capacity_rate: float, limit: int, budget: float, head: list[str]
) -> str:
    by = {(c.path, c.processes, c.in_flight): c for c in cells}
    lines = [
        "# Dialogue capacity",
        "",
        *head,
        "",
        f"Rasa's REST channel, 1 process, 16 in flight, measured first: **{capacity_rate:.1f} "
        f"turns/s**. The app ran with RASA_TURNS_PER_SECOND={capacity_rate:.1f}, i.e. "
        f"{limit} turn slots per Rasa process (the turns answered one after another within "
        f"{BUDGET_SHARE:.0%} of the {budget:g} s budget).",
        "",
        "| Rasa processes | in flight | Rasa REST turns/s | p95 ms | app turns/s (dialogue) | "
        "p95 ms | slowest ms | shed to keypad /s | over budget | app / REST | Rasa cores | "
        "web cores | machine idle |",
        "| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for processes in PROCESSES:
        for in_flight in sorted({c.in_flight for c in cells}):
            rest, app = by.get((REST, processes, in_flight)), by.get((APP, processes, in_flight))
            if rest is None or app is None:
                continue
            slowest = max((t.ms for t in app.turns if not t.error), default=math.nan)
            over = sum(1 for t in app.turns if not t.error and t.ms > budget * 1000)
            ratio = app.rate / rest.rate if rest.rate else math.nan
            lines.append(
                f"| {processes} | {in_flight} | {rest.rate:.1f} | {_ms(rest.ms(0.95))} | "
                f"{app.rate:.1f} | {_ms(app.ms(0.95))} | {_ms(slowest)} | "
                f"{app.shed / app.seconds:.1f} | {over} of {len(app.turns)} | {ratio:.2f} | "
                f"{app.rasa_cores:.2f} | {app.web_cores:.2f} | {app.idle:.0%} |"
            )
    errors = sum(c.errors for c in cells)
    lines += [
        "",
        "Turns/s count the turns the assistant answered (Rasa's REST: every turn). p95 is of "
        'those turns; "slowest" and "over budget" are of every turn through the app, shed '
        "ones included, as the caller waited for each. Rasa and web cores: CPU used per "
        "second in the app's cells; machine idle: the share of both cores nobody used then "
        "(none left: the load generator, the app and Rasa took all of it).",
        "",
        f"Failed requests: {errors}. Times a caller found no placed call left: "
        f"{sum(c.without_a_call for c in cells)}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started_at, started = datetime.now(UTC), time.perf_counter()
    log_dir = args.output.parent / "dialogue-capacity"
    log_dir.mkdir(parents=True, exist_ok=True)
    model = args.model or Path(script_output("rasa-train"))
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    queue = config.queue_named(config.queues.default_queue)
    budget = config.operator.assistant.turn_budget_seconds
    human_words = config.language(queue.default_language).human_words
    utterances = opening_utterances(40, human_words)
    cells: list[Cell] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp,
        rasa_processes(Path(tmp), log_dir, model) as (capacity, stack),
    ):
        rests = [RestChannel(url, capacity.token, REST_STATE) for url in capacity.rasa_urls]
        stack.callback(lambda: [channel.close() for channel in rests])
        rest_callers = Callers(queue.default_language)
        rest_pids = {n: p for n, p in capacity.pids.items() if n.startswith("rasa")}

        def rest_cell(processes: int, in_flight: int, seconds: float) -> Cell:
            spread = SpreadRest(rests[:processes])
            cell = Cell(REST, processes, in_flight, seconds)
            run_cell(
                cell,
                lambda c, u: spread.turn(c, u, "capacity"),
                lambda: rest_callers.new(people_ahead=3),
                utterances,
                rest_pids,
            )
            return cell

        progress("capacity: Rasa REST, 1 process, 16 in flight")
        rest_cell(1, 16, 3.0)  # TensorFlow builds its graphs on the first predictions
        measured = rest_cell(1, 16, args.seconds).rate
        rate = args.turns_per_second or measured
        limit = slots_per_process(rate, budget)
        progress(f"  {measured:.1f} turns/s; the apps get RASA_TURNS_PER_SECOND={rate:.1f}")

        apps = {
            processes: start_app(
                capacity, stack, f"web{processes}", capacity.rasa_urls[:processes], rate
            )
            for processes in PROCESSES
        }
        numbers = queue.numbers[0]
        channels = {}
        for processes, url in apps.items():
            channels[processes] = AppChannel(url, numbers)
            stack.callback(channels[processes].close)
        app_callers = Callers(queue.default_language, itertools.count(10_000_000))

        for in_flight in args.in_flight:
            for processes in PROCESSES:
                rest = rest_cell(processes, in_flight, args.seconds)
                progress(
                    f"{processes} Rasa, {in_flight} in flight: REST {rest.rate:.1f}/s "
                    f"p95 {_ms(rest.ms(0.95))} ms"
                )
                placed = PlacedCalls(channels[processes], app_callers)
                # Enough calls for the cell: REST's pace for the warm-up and measured seconds.
                need = (
                    int(max(rest.rate, 10) * (args.seconds + WARMUP_SECONDS) * 1.5) + 4 * in_flight
                )
                placed.place(need)
                app = Cell(APP, processes, in_flight, args.seconds)
                web_pids = {f"web{processes}": capacity.pids[f"web{processes}"]} | rest_pids
                run_cell(
                    app,
                    lambda c, u, ch=channels[processes]: ch.turn(c, u, "capacity"),
                    placed.next,
                    utterances,
                    web_pids,
                )
                progress(
                    f"  app {app.rate:.1f}/s p95 {_ms(app.ms(0.95))} ms, shed {app.shed}, "
                    f"errors {app.errors}"
                )
                cells += [rest, app]

    head = [
        f"Run {started_at:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - started:.0f} s; "
        f"{machine_description()}; model {model.name}.",
        f"Web: {web_command()} (WEB_WORKERS={web_size('WEB_WORKERS')}, "
        f"WEB_CONNECTIONS={web_size('WEB_CONNECTIONS')}); {len(PROCESSES)} Rasa processes "
        "(one TensorFlow thread each) and one action server; the load generator on the same "
        "cores.",
    ]
    report = render(cells, measured, limit, budget, head)
    args.output.write_text(report, encoding="utf-8")
    print(report)
    progress(f"wrote {args.output}")
    return 1 if any(c.errors for c in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
