"""Intent accuracy on held-out NLU data, per language, with Rasa's own tools.

The held-out part is the project's fixed split (dialogue/nlu_split.py: a fifth of each
language's examples by hash, which scripts/rasa-train never trains on); an NLU-only model is
trained on the rest with dialogue/config.yml; `rasa test nlu` classifies the held-out part
(overall scores, entities), and bench/dialogue_nlu_predict.py classifies it again example by
example, so accuracy and the weakest intents are reported per language. Rasa's test undoes
the FallbackClassifier (it scores the top intent), so the share of held-out examples below the
fallback threshold (which callers would hear as "sorry, I didn't catch that") is reported
beside it. With `folds`, k-fold cross-validation on the training part (folds by hash too)
gives a second, per-language estimate that does not hang on one split. Everything is written
to a temporary directory; the reports and logs are copied next to the benchmark report.
"""

from __future__ import annotations

import hashlib
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
from dialogue import nlu_split

MODEL_NAME = "nlu-heldout"
PROGRESS_EVERY_SECONDS = 15.0
SPLIT_TIMEOUT_SECONDS = 120.0
TRAIN_TIMEOUT_SECONDS = 2400.0  # DIET on a slow moment of a 2-core machine
TEST_TIMEOUT_SECONDS = 300.0
WEAKEST = 5
WEAKEST_PER_LANGUAGE = 3
PREDICT_SCRIPT = Path(__file__).resolve().parent / "dialogue_nlu_predict.py"
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
class IntentRecall:
    intent: str
    correct: int
    support: int
    confused_with: dict[str, int]

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else float("nan")


@dataclass(frozen=True)
class LanguageScore:
    language: str
    examples: int
    correct: int  # right top intent (as `rasa test nlu` scores)
    answered_right: int  # right and above the fallback threshold: what a caller gets
    intents: list[IntentRecall]  # weakest first

    @property
    def accuracy(self) -> float:
        return self.correct / self.examples if self.examples else float("nan")

    @property
    def answered_accuracy(self) -> float:
        return self.answered_right / self.examples if self.examples else float("nan")


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
    languages: list[LanguageScore]  # on the held-out part
    folds: int  # 0: no cross-validation
    cross_validation: list[LanguageScore]
    cross_validation_seconds: float


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


def _one_at_a_time(env: dict[str, str]) -> dict[str, str]:
    """The environment for classifying message by message, as scripts/rasa-serve answers
    turns: the sentence embedding on one thread (two, each waiting for the other at every
    step, crawl when anything else wants a core)."""
    return env | {"OMP_NUM_THREADS": "1"}


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


def evaluate(venv: Path, config: Path, work: Path, keep: Path, folds: int = 0) -> NluResult:
    """Split, train, test (`config` relative to the repository, where Rasa runs); the
    reports and logs are copied to `keep`."""
    env = _env(work / "rasa-cache")
    split, models, results = work / "split", work / "models", work / "results"
    keep.mkdir(parents=True, exist_ok=True)
    train_dir, test_dir = split / "train", split / "heldout"
    progress("  held-out split: dialogue/nlu_split.py (a fifth of each language, by hash)")
    held_out = nlu_split.write(nlu_split.NLU_DIR, train_dir, test_dir)
    train_examples, intents = count_examples_in(train_dir)
    test_examples, _ = count_examples_in(test_dir)
    progress(
        f"  {train_examples} training / {test_examples} held-out examples, {intents} intents; "
        + ", ".join(f"{language} {n}" for language, n in held_out.items())
    )

    model = models / f"{MODEL_NAME}.tar.gz"
    train_seconds, interference, train_args = _train(venv, config, train_dir, models, env, keep)
    progress(f"  trained in {train_seconds:.0f} s; testing on the held-out examples")
    test_args = [
        *("test", "nlu", "--model", str(model)),
        *("--nlu", str(test_dir), "--out", str(results), "--successes", "--no-plot"),
    ]
    test_seconds = run_logged(
        _rasa(venv, *test_args),
        _one_at_a_time(env),
        keep / "nlu-test.log",
        "testing",
        TEST_TIMEOUT_SECONDS,
    )
    for report in results.glob("*.json"):
        shutil.copy2(report, keep / report.name)
    progress("  classifying the held-out examples language by language")
    predictions = classify(venv, model, heldout_examples(test_dir), work, env, keep)
    (keep / "heldout-predictions.json").write_text(
        json.dumps(predictions, ensure_ascii=False, indent=0), encoding="utf-8"
    )
    cross, cross_seconds = ([], 0.0)
    if folds > 1:
        cross, cross_seconds = cross_validate(venv, config, train_dir, work, env, keep, folds)
    return _result(
        results,
        config,
        counts=(train_examples, test_examples, intents),
        seconds=(train_seconds, test_seconds),
        interference=interference,
        commands=(
            "dialogue/nlu_split.py",
            _shown(train_args, work),
            _shown(test_args, work),
        ),
        languages=language_scores(predictions),
        cross=(folds if folds > 1 else 0, cross, cross_seconds),
    )


def _train(
    venv: Path,
    config: Path,
    nlu: Path,
    models: Path,
    env: dict[str, str],
    keep: Path,
    name: str = MODEL_NAME,
) -> tuple[float, Interference, list[str]]:
    train_args = [
        *("train", "nlu", "--config", str(config), "--nlu", str(nlu)),
        *("--out", str(models), "--fixed-model-name", name),
    ]
    log = keep / f"{name}-train.log"
    progress(f"  training the NLU model {name} (log: {log})")
    mark = CpuMark.now()
    seconds = run_logged(_rasa(venv, *train_args), env, log, "training", TRAIN_TIMEOUT_SECONDS)
    return seconds, Interference.since(mark), train_args


def count_examples_in(directory: Path) -> tuple[int, int]:
    """(examples, intents) over every NLU file under `directory`."""
    total, intents = 0, set()
    for path in sorted(directory.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if "intent" in item:
                intents.add(item["intent"])
                total += len(nlu_split.examples_of(item))
    return total, len(intents)


def heldout_examples(test_dir: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(test_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            rows += [
                {"language": path.stem, "intent": str(item["intent"]), "text": text}
                for text in nlu_split.examples_of(item)
            ]
    return rows


def classify(
    venv: Path,
    model: Path,
    examples: list[dict[str, str]],
    work: Path,
    env: dict[str, str],
    keep: Path,
    label: str = "heldout",
) -> list[dict[str, Any]]:
    """Every example through the model (bench/dialogue_nlu_predict.py, in Rasa's venv)."""
    source, target = work / f"{label}-examples.json", work / f"{label}-predictions.json"
    source.write_text(json.dumps(examples, ensure_ascii=False), encoding="utf-8")
    argv = [str(venv / "bin" / "python"), str(PREDICT_SCRIPT), str(model), str(source), str(target)]
    log = keep / f"nlu-{label}-predict.log"
    run_logged(argv, _one_at_a_time(env), log, "classifying", TEST_TIMEOUT_SECONDS)
    rows: list[dict[str, Any]] = json.loads(target.read_text(encoding="utf-8"))
    return rows


def language_scores(predictions: list[dict[str, Any]]) -> list[LanguageScore]:
    scores = []
    for language in dict.fromkeys(p["language"] for p in predictions):
        rows = [p for p in predictions if p["language"] == language]
        intents: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            intents.setdefault(row["intent"], []).append(row)
        recalls = [
            IntentRecall(
                intent=intent,
                correct=sum(r["predicted"] == intent for r in group),
                support=len(group),
                confused_with=_counts(r["predicted"] for r in group if r["predicted"] != intent),
            )
            for intent, group in intents.items()
        ]
        scores.append(
            LanguageScore(
                language=language,
                examples=len(rows),
                correct=sum(r["predicted"] == r["intent"] for r in rows),
                answered_right=sum(r["answered"] == r["intent"] for r in rows),
                intents=sorted(recalls, key=lambda r: (r.recall, -r.support)),
            )
        )
    return scores


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def cross_validate(
    venv: Path,
    config: Path,
    train_dir: Path,
    work: Path,
    env: dict[str, str],
    keep: Path,
    folds: int,
) -> tuple[list[LanguageScore], float]:
    """k-fold cross-validation on the training part: fold i holds the examples whose hash
    (salted apart from the held-out split's) is i modulo k; each fold's model trains on the
    others. Per-language scores over all folds, and the seconds taken."""
    started = time.monotonic()
    predictions: list[dict[str, Any]] = []
    for fold in range(folds):
        progress(f"  cross-validation fold {fold + 1}/{folds}")
        fold_dir, held = work / f"fold-{fold}", []
        for path in sorted(train_dir.rglob("*.yml")):
            relative = path.relative_to(train_dir)
            language = nlu_split.language_of(path, train_dir)
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            items = []
            for item in data.get("nlu") or []:
                if "intent" not in item or language is None:
                    items.append(item)
                    continue
                kept = []
                for text in nlu_split.examples_of(item):
                    row = {"language": language, "intent": str(item["intent"]), "text": text}
                    if _fold_of(row, folds) == fold:
                        held.append(row)
                    else:
                        kept.append(text)
                if kept:
                    items.append(item | {"examples": "".join(f"- {t}\n" for t in kept)})
            target = fold_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(data | {"nlu": items}, allow_unicode=True))
        models = work / f"fold-{fold}-models"
        name = f"fold-{fold}"
        _train(venv, config, fold_dir, models, env, keep, name=name)
        predictions += classify(venv, models / f"{name}.tar.gz", held, work, env, keep, label=name)
    (keep / "cross-validation-predictions.json").write_text(
        json.dumps(predictions, ensure_ascii=False, indent=0), encoding="utf-8"
    )
    return language_scores(predictions), time.monotonic() - started


def _fold_of(row: dict[str, str], folds: int) -> int:
    key = f"fold\n{row['language']}\n{row['intent']}\n{row['text']}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % folds


def _result(
    results: Path,
    config: Path,
    counts: tuple[int, int, int],
    seconds: tuple[float, float],
    interference: Interference,
    commands: tuple[str, str, str],
    languages: list[LanguageScore],
    cross: tuple[int, list[LanguageScore], float],
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
        languages=languages,
        folds=cross[0],
        cross_validation=cross[1],
        cross_validation_seconds=cross[2],
    )
