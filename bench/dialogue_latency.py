"""Turn latency, interleaved: the same utterances through the app, Rasa's REST channel (with
and without the tracker read-back) and Rasa's twilio_voice channel, in one run.

Each utterance opens a new conversation on every channel, one channel after the other in an
order that rotates, so slow and fast moments of the machine fall on all of them alike. When
the app's answer asks the caller something, a second turn follows on every channel.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import redis

from app.calls import CallStore
from bench.dialogue_stack import Stack
from bench.dialogue_turns import (
    APP,
    REST,
    REST_STATE,
    REST_TRACKER,
    AppChannel,
    Callers,
    Channel,
    Conversation,
    RestChannel,
    Turn,
    TwilioVoiceChannel,
)
from bench.measure import (
    BARRIER_SECONDS,
    MachineCpu,
    machine_cpu,
    own_cpu_seconds,
    percentile,
    process_tree_cpu_seconds,
    progress,
    redis_cpu_seconds,
)

FIRST, SECOND, BURST = "first", "second", "burst"
# Turns per channel before anything is timed: TensorFlow builds its graphs on Rasa's first
# predictions, and each gunicorn thread opens its own connection to Rasa on first use.
WARMUP_TURNS = 6
# The second turn answers what the assistant asked (read from the app's answer): "yes"
# to an offer ("shall we confirm your details now?"), an account number to "what's your
# account number?". Other answers (back to waiting, a keyed secret) end the conversation.
SECOND_UTTERANCE = {"listen": "yes please", "digits": "it's 20987654"}
PROGRESS_EVERY = 10
REDIS_SAMPLE_TURNS = 5
_ACCESS_LINE = re.compile(
    r"^bench-access phase=(?P<phase>\S+) seconds=(?P<seconds>[\d.]+) "
    r"status=(?P<status>\d+) path=(?P<path>\S+)$"
)


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used during a phase, by whom, and the wall time it took."""

    wall: float
    client: float  # this process: the simulated callers
    web: float  # gunicorn, master and workers
    rasa: float
    actions: float
    redis: float
    machine: MachineCpu

    @property
    def other(self) -> float:
        """Busy time no process of the run accounts for: other processes, and kernel threads
        (partly this run's own network work on loopback)."""
        ours = self.client + self.web + self.rasa + self.actions + self.redis
        return max(0.0, self.machine.busy - ours)


@dataclass(frozen=True)
class RedisCommands:
    """Redis commands per turn, by command, for one channel."""

    channel: str
    turns: int
    by_command: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.by_command.values())


@dataclass(frozen=True)
class LatencyResult:
    utterances: list[str]
    repeat: int
    in_flight: int
    turns: list[Turn]
    server_ms: dict[str, list[float]]  # gunicorn's own time for /voice/turn, by phase
    cpu: CpuUse  # during the sequential phase
    redis_commands: list[RedisCommands]
    app_intents: dict[str, str | None]  # CallSid -> intent the app kept with the call
    # Rasa's log during the timed phases: how often its twilio_voice channel failed on a
    # message without text (see TwilioVoiceChannel).
    twilio_voice_key_errors: int

    def of(self, channel: str, phase: str) -> list[Turn]:
        return [t for t in self.turns if t.channel == channel and t.phase == phase]

    def ms(self, channel: str, phase: str) -> list[float]:
        return sorted(t.ms for t in self.of(channel, phase) if t.error is None)


class _Meter:
    """CPU counters of the run's processes at the start of a phase."""

    def __init__(self, stack: Stack, client: redis.Redis) -> None:
        self._stack, self._client = stack, client
        self._start = self._read()
        self._machine = machine_cpu()
        self._wall = time.perf_counter()

    def _read(self) -> tuple[float, ...]:
        pids = self._stack.pids
        return (
            own_cpu_seconds(),
            process_tree_cpu_seconds(pids["web"]),
            process_tree_cpu_seconds(pids["rasa"]),
            process_tree_cpu_seconds(pids["actions"]),
            redis_cpu_seconds(self._client),
        )

    def used(self) -> CpuUse:
        deltas = [b - a for a, b in zip(self._start, self._read(), strict=True)]
        return CpuUse(
            time.perf_counter() - self._wall,
            *deltas,
            machine=machine_cpu() - self._machine,
        )


class Bench:
    def __init__(self, stack: Stack, called: str, language: str) -> None:
        self.app = AppChannel(stack.app_url, called)
        self.channels: list[Channel] = [
            self.app,
            RestChannel(stack.rasa_url, stack.rasa_token, REST),
            RestChannel(stack.rasa_url, stack.rasa_token, REST_STATE),
            RestChannel(stack.rasa_url, stack.rasa_token, REST_TRACKER),
            TwilioVoiceChannel(stack, called),
        ]
        self.callers = Callers(language)
        self._rounds = itertools.count()

    def open_conversation(self, channel: Channel, ahead: int) -> Conversation:
        conversation = self.callers.new(ahead)
        channel.start(conversation)
        return conversation

    def round(self, utterance: str, index: int, phase: str = FIRST) -> list[Turn]:
        """One utterance through every channel (order rotated by `index`), each in a new
        conversation; then a second turn everywhere if the app's caller was asked something."""
        order = _rotated(self.channels, index)
        number = next(self._rounds)
        # The app's call will have every call placed before it ahead of it (nobody is served
        # in this run): the REST channels get the same fact.
        ahead = self.app.calls_placed
        conversations: dict[str, Conversation] = {}
        turns: list[Turn] = []
        for channel in order:
            conversations[channel.name] = self.open_conversation(channel, ahead)
            turns.append(channel.turn(conversations[channel.name], utterance, phase))
        app_turn = next(t for t in turns if t.channel == APP)
        follow_up = SECOND_UTTERANCE.get(app_turn.outcome or "")
        if follow_up is not None and phase == FIRST:
            for channel in order:
                turns.append(channel.turn(conversations[channel.name], follow_up, SECOND))
        return [replace(turn, round=number) for turn in turns]

    def burst(self, utterances: Sequence[str], index: int, pool: ThreadPoolExecutor) -> list[Turn]:
        """Each channel in turn gets len(utterances) new callers who speak at the same moment
        (their calls placed beforehand, untimed)."""
        turns: list[Turn] = []
        for channel in _rotated(self.channels, index):
            ahead = self.app.calls_placed
            conversations = [self.open_conversation(channel, ahead) for _ in utterances]
            start = threading.Barrier(len(utterances))
            turns += pool.map(partial(_speak, channel, start), conversations, utterances)
        return turns


def _speak(
    channel: Channel, start: threading.Barrier, conversation: Conversation, said: str
) -> Turn:
    # Every caller of the burst waits here, one per thread, so all are in flight together.
    start.wait(BARRIER_SECONDS)
    return channel.turn(conversation, said, BURST)


def _rotated(channels: Sequence[Channel], index: int) -> list[Channel]:
    shift = index % len(channels)
    return [*channels[shift:], *channels[:shift]]


def _summary(turns: list[Turn], channels: Sequence[str]) -> str:
    cells = []
    for name in channels:
        ms = sorted(t.ms for t in turns if t.channel == name and t.error is None)
        cells.append(f"{name} {percentile(ms, 0.5):.0f}")
    return "p50 so far (ms): " + ", ".join(cells)


def _warm_up(bench: Bench, utterances: Sequence[str]) -> None:
    # Rasa first, directly: a cold first prediction could exceed the app's 1.5 s budget and
    # count against its circuit breaker.
    rest = next(channel for channel in bench.channels if channel.name == REST)
    for utterance in utterances[:WARMUP_TURNS]:
        rest.turn(bench.open_conversation(rest, 0), utterance, "warmup")
    for index, utterance in enumerate(utterances[:WARMUP_TURNS]):
        for turn in bench.round(utterance, index, phase="warmup"):
            if turn.error:
                raise RuntimeError(f"warm-up {turn.channel} failed: {turn.error}")


def _sequential(bench: Bench, utterances: list[str], repeat: int) -> list[Turn]:
    turns: list[Turn] = []
    sequence = utterances * repeat
    for index, utterance in enumerate(sequence):
        turns += bench.round(utterance, index)
        if (index + 1) % PROGRESS_EVERY == 0 or index + 1 == len(sequence):
            names = [channel.name for channel in bench.channels]
            firsts = [t for t in turns if t.phase == FIRST]
            progress(f"  {index + 1}/{len(sequence)} utterances; {_summary(firsts, names)}")
    return turns


def _bursts(bench: Bench, utterances: list[str], repeat: int, in_flight: int) -> list[Turn]:
    sequence = utterances * repeat
    batches = [sequence[i : i + in_flight] for i in range(0, len(sequence), in_flight)]
    turns: list[Turn] = []
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        for index, batch in enumerate(batches):
            turns += bench.burst(batch, index, pool)
    names = [channel.name for channel in bench.channels]
    progress(f"  {len(sequence)} utterances, {in_flight} at once; {_summary(turns, names)}")
    return turns


def _command_calls(client: redis.Redis) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def _count_commands(
    bench: Bench, channel: Channel, client: redis.Redis, utterances: Sequence[str]
) -> RedisCommands:
    """Redis commands one first turn causes, app and Rasa together (both use this Redis:
    the queue and calls in database 0, Rasa's tracker and lock store in database 1). Only
    this channel's turn runs between the two counts."""
    total: Counter[str] = Counter()
    for utterance in utterances:
        conversation = bench.open_conversation(channel, bench.app.calls_placed)
        before = _command_calls(client)
        turn = channel.turn(conversation, utterance, "redis-count")
        after = _command_calls(client)
        if turn.error:
            raise RuntimeError(f"{channel.name} failed while counting: {turn.error}")
        total += after - before
        total["info"] -= 1  # the first INFO counts itself once the second one runs
    return RedisCommands(
        channel.name,
        len(utterances),
        {name: calls / len(utterances) for name, calls in total.most_common() if calls > 0},
    )


def _key_errors(rasa_log: Path, offset: int) -> int:
    """Tracebacks of the twilio_voice channel's `message["text"]` in Rasa's log since
    `offset`: the cause of its HTTP 500s, confirmed rather than assumed."""
    with rasa_log.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace").count("KeyError: 'text'")


def server_times(log_text: str) -> dict[str, list[float]]:
    """gunicorn's own time for each /voice/turn, by the phase header the benchmark sent."""
    times: dict[str, list[float]] = {}
    for line in log_text.splitlines():
        match = _ACCESS_LINE.match(line)
        if match and match["path"] == "/voice/turn" and match["status"] == "200":
            times.setdefault(match["phase"], []).append(float(match["seconds"]) * 1000)
    return {phase: sorted(values) for phase, values in times.items()}


def measure_latency(
    stack: Stack,
    called: str,
    language: str,
    utterances: list[str],
    repeat: int,
    in_flight: int,
) -> LatencyResult:
    bench = Bench(stack, called, language)
    client = stack.redis.client()
    try:
        progress(f"  warm-up: {WARMUP_TURNS} rounds")
        _warm_up(bench, utterances)
        progress(f"  sequential: {len(utterances)} utterances x {repeat}, 1 in flight")
        log_offset = stack.rasa_log.stat().st_size
        meter = _Meter(stack, client)
        turns = _sequential(bench, utterances, repeat)
        cpu = meter.used()
        if in_flight > 1:
            progress(f"  bursts: {in_flight} callers speaking at once")
            turns += _bursts(bench, utterances, repeat, in_flight)
        key_errors = _key_errors(stack.rasa_log, log_offset)
        progress("  counting Redis commands per turn")
        sample = utterances[:REDIS_SAMPLE_TURNS]
        counted = [
            _count_commands(bench, channel, client, sample)
            for channel in bench.channels
            if channel.name in (APP, REST, REST_STATE, REST_TRACKER)
        ]
        store = CallStore(client)
        app_intents = {}
        for turn in turns:
            if turn.channel == APP and turn.phase == FIRST and turn.error is None:
                record = store.get(turn.sid)
                app_intents[turn.sid] = record.last_intent if record else None
    finally:
        client.close()
        for channel in bench.channels:
            channel.close()
    log_text = stack.gunicorn_log.read_text(errors="replace")
    return LatencyResult(
        utterances=utterances,
        repeat=repeat,
        in_flight=in_flight,
        turns=turns,
        server_ms=server_times(log_text),
        cpu=cpu,
        redis_commands=counted,
        app_intents=app_intents,
        twilio_voice_key_errors=key_errors,
    )
