"""Intent accuracy on held-out NLU data, with Rasa's own tools.

`rasa data split nlu` (fixed seed) keeps 20 % of the examples aside; an NLU-only model is
trained on the rest with dialogue/config.yml; `rasa test nlu` classifies the held-out part.
Rasa's test undoes the FallbackClassifier (it scores the top intent), so the share of
held-out examples below the fallback threshold (which callers would hear as "sorry, I didn't
catch that") is reported beside it. Everything is written to a temporary directory; the
reports and logs are copied next to the benchmark report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.settings import REPO_ROOT
from bench.dialogue_stack import stop_group
from bench.measure import CpuMark, Interference, progress

SPLIT_SEED = 20261125
TRAINING_FRACTION = 0.8
MODEL_NAME = "nlu-heldout"
PROGRESS_EVERY_SECONDS = 15.0
SPLIT_TIMEOUT_SECONDS = 120.0
TRAIN_TIMEOUT_SECONDS = 480.0
TEST_TIMEOUT_SECONDS = 300.0
WEAKEST = 5
ERROR_EXAMPLES = 8
# tqdm's bar in the training log: "Epochs:  37%|...| 22/60 [...]"
_EPOCHS = re.compile(r"Epochs:\s+(\d+)%\|[^|]*\|\s*(\d+)/(\d+)")
# Keys of Rasa's classification reports that are not labels.
_AVERAGES = {"accuracy", "macro avg", "weighted avg", "micro avg"}


@dataclass(frozen=True)
class LabelScore:
    name: str
    precision: float
    recall: float
    f1: float
    support: int
    confused_with: dict[str, int]


@dataclass(frozen=True)
class EntityScores:
    extractor: str
    micro_f1: float | None
    macro_f1: float
    weighted_f1: float
    labels: list[LabelScore]


@dataclass(frozen=True)
class Misclassified:
    text: str
    intent: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class NluResult:
    train_examples: int
    test_examples: int
    intents: int
    train_seconds: float
    test_seconds: float
    train_interference: Interference  # others' use of the machine while it trained
    accuracy: float
    macro_f1: float
    weighted_f1: float
    weakest: list[LabelScore]
    entities: list[EntityScores]
    fallback_threshold: float
    below_threshold: int  # held-out examples whose top intent is under the threshold
    correct_below_threshold: int  # right intent, but the caller would hear the fallback
    error_count: int
    errors: list[Misclassified]  # the most confident mistakes first
    split_command: str
    train_command: str
    test_command: str


def _rasa(venv: Path, *args: str) -> list[str]:
    return [str(venv / "bin" / "rasa"), *args]


def _env(cache: Path) -> dict[str, str]:
    # Telemetry off for every command; Rasa's training cache in the temp directory, not in
    # the checkout (and not the project's model cache: the training is timed from scratch).
    return os.environ | {
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_CACHE_DIRECTORY": str(cache),
    }


def _epochs(log: Path) -> str:
    """The training's latest tqdm position ("epoch 22/60"), or "" before DIET starts."""
    tail = log.read_bytes()[-4000:].decode(errors="replace") if log.exists() else ""
    found = _EPOCHS.findall(tail.replace("\r", "\n"))
    return f", DIET epoch {found[-1][1]}/{found[-1][2]}" if found else ""


def run_logged(
    argv: list[str], env: dict[str, str], log: Path, label: str, timeout: float
) -> float:
    """Run a Rasa command in its own process group, output to `log`, a progress line every
    PROGRESS_EVERY_SECONDS; the group is stopped on timeout, error or Ctrl-C. Seconds taken."""
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        next_note = started + PROGRESS_EVERY_SECONDS
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                raise RuntimeError(f"{label} took longer than {timeout:.0f} s (log: {log})")
            if time.monotonic() >= next_note:
                progress(f"  {label}: {elapsed:.0f} s{_epochs(log)}")
                next_note += PROGRESS_EVERY_SECONDS
            time.sleep(0.5)
    finally:
        stop_group(process)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{label} failed ({process.returncode}), log {log}:\n{tail}")
    return time.monotonic() - started


def count_examples(path: Path) -> tuple[int, int]:
    """(examples, intents) in a Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = [item for item in data.get("nlu") or [] if "intent" in item]
    examples = sum(
        1
        for item in items
        for line in str(item.get("examples") or "").splitlines()
        if line.strip().startswith("- ")
    )
    return examples, len({item["intent"] for item in items})


def fallback_threshold(config: Path) -> float:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for component in data.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))  # Rasa's default
    return 0.0


def _label_scores(report: dict[str, Any]) -> list[LabelScore]:
    return [
        LabelScore(
            name=name,
            precision=float(values["precision"]),
            recall=float(values["recall"]),
            f1=float(values["f1-score"]),
            support=int(values["support"]),
            confused_with={k: int(v) for k, v in (values.get("confused_with") or {}).items()},
        )
        for name, values in report.items()
        if name not in _AVERAGES and isinstance(values, dict)
    ]


def _entity_scores(results: Path) -> list[EntityScores]:
    scores = []
    for path in sorted(results.glob("*Extractor_report.json")) + sorted(
        results.glob("DIETClassifier_report.json")
    ):
        report = json.loads(path.read_text(encoding="utf-8"))
        micro = report.get("micro avg")
        scores.append(
            EntityScores(
                extractor=path.name.removesuffix("_report.json"),
                micro_f1=float(micro["f1-score"]) if micro else None,
                macro_f1=float(report["macro avg"]["f1-score"]),
                weighted_f1=float(report["weighted avg"]["f1-score"]),
                labels=sorted(_label_scores(report), key=lambda s: -s.support),
            )
        )
    return scores


def _predictions(results: Path) -> list[dict[str, Any]]:
    """Every held-out example with its prediction (successes and errors files together)."""
    rows: list[dict[str, Any]] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = results / name
        if path.exists():
            rows += json.loads(path.read_text(encoding="utf-8"))
    return rows


def _shown(args: list[str], work: Path) -> str:
    """The command as the report shows it, temporary paths abbreviated."""
    return "rasa " + " ".join(args).replace(str(work), "<tmp>")


def evaluate(venv: Path, config: Path, work: Path, keep: Path) -> NluResult:
    """Split, train, test (`config` relative to the repository, where Rasa runs); the
    reports and logs are copied to `keep`."""
    env = _env(work / "rasa-cache")
    split, models, results = work / "split", work / "models", work / "results"
    keep.mkdir(parents=True, exist_ok=True)
    split_args = [
        *("data", "split", "nlu", "--nlu", "nlu_data"),
        *("--training-fraction", str(TRAINING_FRACTION), "--random-seed", str(SPLIT_SEED)),
        *("--out", str(split)),
    ]
    progress(f"  rasa {' '.join(split_args[:3])} (seed {SPLIT_SEED}, {TRAINING_FRACTION:.0%})")
    run_logged(
        _rasa(venv, *split_args), env, keep / "nlu-split.log", "split", SPLIT_TIMEOUT_SECONDS
    )
    train_file, test_file = split / "training_data.yml", split / "test_data.yml"
    train_examples, intents = count_examples(train_file)
    test_examples, _ = count_examples(test_file)
    progress(f"  {train_examples} training / {test_examples} held-out examples, {intents} intents")

    train_args = [
        *("train", "nlu", "--config", str(config), "--nlu", str(train_file)),
        *("--out", str(models), "--fixed-model-name", MODEL_NAME),
    ]
    progress(f"  training the NLU model (log: {keep / 'nlu-train.log'})")
    mark = CpuMark.now()
    train_seconds = run_logged(
        _rasa(venv, *train_args), env, keep / "nlu-train.log", "training", TRAIN_TIMEOUT_SECONDS
    )
    interference = Interference.since(mark)  # the training was waited for: it counts as ours
    progress(f"  trained in {train_seconds:.0f} s; testing on the held-out examples")
    test_args = [
        *("test", "nlu", "--model", str(models / f"{MODEL_NAME}.tar.gz")),
        *("--nlu", str(test_file), "--out", str(results), "--successes", "--no-plot"),
    ]
    test_seconds = run_logged(
        _rasa(venv, *test_args), env, keep / "nlu-test.log", "testing", TEST_TIMEOUT_SECONDS
    )
    for report in results.glob("*.json"):
        shutil.copy2(report, keep / report.name)
    return _result(
        results,
        config,
        counts=(train_examples, test_examples, intents),
        seconds=(train_seconds, test_seconds),
        interference=interference,
        commands=(_shown(split_args, work), _shown(train_args, work), _shown(test_args, work)),
    )


def _result(
    results: Path,
    config: Path,
    counts: tuple[int, int, int],
    seconds: tuple[float, float],
    interference: Interference,
    commands: tuple[str, str, str],
) -> NluResult:
    report = json.loads((results / "intent_report.json").read_text(encoding="utf-8"))
    labels = _label_scores(report)
    threshold = fallback_threshold(REPO_ROOT / config)
    predictions = _predictions(results)
    low = [p for p in predictions if float(p["intent_prediction"]["confidence"]) < threshold]
    errors = [
        Misclassified(
            text=p["text"],
            intent=p["intent"],
            predicted=p["intent_prediction"]["name"],
            confidence=float(p["intent_prediction"]["confidence"]),
        )
        for p in predictions
        if p["intent"] != p["intent_prediction"]["name"]
    ]
    return NluResult(
        train_examples=counts[0],
        test_examples=counts[1],
        intents=counts[2],
        train_seconds=seconds[0],
        test_seconds=seconds[1],
        train_interference=interference,
        accuracy=float(report["accuracy"]),
        macro_f1=float(report["macro avg"]["f1-score"]),
        weighted_f1=float(report["weighted avg"]["f1-score"]),
        weakest=sorted(labels, key=lambda s: (s.f1, -s.support))[:WEAKEST],
        entities=_entity_scores(results),
        fallback_threshold=threshold,
        below_threshold=len(low),
        correct_below_threshold=sum(p["intent"] == p["intent_prediction"]["name"] for p in low),
        error_count=len(errors),
        errors=sorted(errors, key=lambda e: -e.confidence)[:ERROR_EXAMPLES],
        split_command=commands[0],
        train_command=commands[1],
        test_command=commands[2],
    )
