"""The dialogue benchmark's Markdown report: what was measured, how, and the figures."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bench.dialogue_languages import LanguagesResult
from bench.dialogue_latency import BURST, FIRST, SECOND, SECOND_UTTERANCE, LatencyResult
from bench.dialogue_nlu import WEAKEST_PER_LANGUAGE, EntityScores, LanguageScore, NluResult
from bench.dialogue_turns import APP, CHANNELS, REST, REST_STATE, REST_TRACKER, TWILIO_VOICE
from bench.measure import percentile

# Share of the machine taken by others above which the figures are flagged.
DISTURBED = 0.10

LABELS = {
    APP: "(a) app: `POST /voice/turn`",
    REST: "(b) Rasa REST: `POST /webhooks/rest/webhook`",
    REST_STATE: "(s) the app's channel: `POST /webhooks/rest_state/webhook`, state in the reply",
    REST_TRACKER: "(b+t) Rasa REST + tracker read-back (the app before its channel)",
    TWILIO_VOICE: "(c) Rasa twilio_voice: `POST /webhooks/twilio_voice/webhook`",
}


@dataclass(frozen=True)
class RunInfo:
    started: str  # UTC, for the reader
    seconds: float  # the whole run
    machine: str
    versions: str
    model: str
    web_command: str
    web_size: str  # gunicorn's processes and connections, as the environment set them


# -- latency --------------------------------------------------------------------------------


def _row(label: str, values: Sequence[float], errors: int | str = "") -> str:
    if not values:
        return f"| {label} | - | - | - | - | - | 0 | {errors} |"
    cells = " | ".join(f"{percentile(values, p):,.1f}" for p in (0.5, 0.95, 0.99, 1.0))
    return f"| {label} | {cells} | {statistics.fmean(values):,.1f} | {len(values)} | {errors} |"


def _table(result: LatencyResult, phase: str, server_phase: str | None) -> list[str]:
    lines = [
        "| ms | p50 | p95 | p99 | max | mean | n | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for channel in CHANNELS:
        failed = sum(1 for t in result.of(channel, phase) if t.error)
        lines.append(_row(LABELS[channel], result.ms(channel, phase), failed))
        if channel == APP and server_phase is not None:
            server = result.server_ms.get(server_phase, [])
            lines.append(_row("  (a) the same turns, gunicorn's own time", server))
        if channel == TWILIO_VOICE:
            answered = sorted(t.ms for t in result.of(channel, phase) if t.outcome == "twiml")
            lines.append(_row("  (c) only the turns answered with TwiML (HTTP 200)", answered))
    return lines


def _stat(values: Sequence[float], name: str) -> float:
    if name == "mean":
        return statistics.fmean(values) if values else float("nan")
    return percentile(values, {"p50": 0.5, "p95": 0.95}[name])


def _ratios(result: LatencyResult, phase: str) -> list[str]:
    pairs = [
        (APP, REST, "**(a) / (b)**: app vs Rasa REST"),
        (APP, TWILIO_VOICE, "**(a) / (c)**: app vs Rasa's twilio_voice"),
        (APP, REST_STATE, "(a) / (s): app vs the Rasa request it makes"),
        (REST_STATE, REST, "(s) / (b): the state in the reply"),
        (REST_TRACKER, REST, "(b+t) / (b): a tracker read-back instead"),
        (TWILIO_VOICE, REST, "(c) / (b): twilio_voice vs REST"),
    ]
    lines = ["| ratio | p50 | mean | p95 |", "|---|--:|--:|--:|"]
    for top, bottom, label in pairs:
        a, b = result.ms(top, phase), result.ms(bottom, phase)
        cells = " | ".join(
            f"{_stat(a, name) / _stat(b, name):.2f}" if a and b else "-"
            for name in ("p50", "mean", "p95")
        )
        lines.append(f"| {label} | {cells} |")
    return lines


def _differences(result: LatencyResult) -> str:
    app, state = result.ms(APP, FIRST), result.ms(REST_STATE, FIRST)
    both, rest = result.ms(REST_TRACKER, FIRST), result.ms(REST, FIRST)
    server = result.server_ms.get(FIRST, [])
    if not (app and state and both and rest and server):
        return ""
    p50 = {
        name: percentile(v, 0.5)
        for name, v in (("a", app), ("s", state), ("bt", both), ("b", rest))
    }
    gunicorn = percentile(server, 0.5)
    return (
        f"Medians: a first turn takes {p50['b']:.0f} ms through Rasa's REST channel (b); "
        f"through the app's channel, the state in the reply (s), {p50['s']:.0f} ms "
        f"({p50['s'] - p50['b']:+.0f} ms), where a tracker read-back instead (b+t) took "
        f"{p50['bt']:.0f} ms ({p50['bt'] - p50['b']:+.0f} ms); through the app (a), "
        f"{p50['a']:.0f} ms ({p50['a'] - p50['s']:+.0f} ms over s). Of (a), gunicorn's own "
        "time (request parsed to response written) is "
        f"{gunicorn:.0f} ms; the other {p50['a'] - gunicorn:.0f} ms are the loopback round "
        "trip, gunicorn's worker taking the request and the client. Differences of a few "
        "ms are within the noise of this many turns."
    )


def _outcomes(result: LatencyResult) -> list[str]:
    app_turns = [t for t in result.turns if t.channel == APP and t.error is None]
    fallbacks = {
        phase: sum(1 for t in app_turns if t.phase == phase and t.outcome == "keypad_menu")
        for phase in (FIRST, SECOND, BURST)
    }
    total = {phase: sum(1 for t in app_turns if t.phase == phase) for phase in fallbacks}
    mix = Counter(t.outcome for t in app_turns if t.phase == FIRST)
    mark = "✓" if not any(fallbacks.values()) else "✗"
    lines = [
        f"- {mark} **Keypad-menu fallbacks** in the app's answers (Rasa unavailable or over "
        "the 1.5 s turn budget; such a turn did not measure the dialogue): "
        + ", ".join(f"{phase} turns {fallbacks[phase]} of {total[phase]}" for phase in fallbacks)
        + ".",
        "- What the app's caller was asked next after the first turn: "
        + ", ".join(f"{outcome} {count}" for outcome, count in mix.most_common())
        + f'. A second turn followed `listen` ("{SECOND_UTTERANCE["listen"]}") and '
        f'`digits` ("{SECOND_UTTERANCE["digits"]}") on every channel.',
    ]
    lines.append(_agreement(result))
    lines.append(_twilio_voice_failures(result))
    errors = [t for t in result.turns if t.error]
    if errors:
        lines.append(f"- **Errors: {len(errors)}** (first 5):")
        lines += [f'  - {t.channel} {t.phase} "{t.utterance}": {t.error}' for t in errors[:5]]
    return lines


def _agreement(result: LatencyResult) -> str:
    """The app's turn went through the same dialogue as the direct REST turn: the intent it
    kept with the call equals the tracker's for the same utterance(s)."""
    rest_final: dict[int, str | None] = {}
    app_sid: dict[int, str] = {}
    for turn in result.turns:
        if turn.phase not in (FIRST, SECOND):
            continue
        if turn.channel == REST_TRACKER:
            rest_final[turn.round] = turn.intent  # the later (second) turn overwrites
        elif turn.channel == APP and turn.phase == FIRST:
            app_sid[turn.round] = turn.sid
    pairs = [
        (result.app_intents.get(sid), rest_final.get(number)) for number, sid in app_sid.items()
    ]
    same = sum(1 for app, rest in pairs if app is not None and app == rest)
    return (
        f"- Same intent kept by the app (call record) as the tracker of the (b+t) conversation "
        f"with the same words: {same} of {len(pairs)} conversations."
    )


def _twilio_voice_failures(result: LatencyResult) -> str:
    """How often Rasa's twilio_voice channel could not voice the dialogue's reply, and
    whether that is the custom payload: the REST reply to the same words carried one."""
    rest_kind = {(t.round, t.phase): t.outcome for t in result.turns if t.channel == REST}
    voice = [t for t in result.turns if t.channel == TWILIO_VOICE and t.phase in (FIRST, SECOND)]
    failed = [t for t in voice if t.outcome == "http 500"]
    all_failed = sum(
        1 for t in result.turns if t.channel == TWILIO_VOICE and t.outcome == "http 500"
    )
    with_custom = sum(1 for t in failed if rest_kind.get((t.round, t.phase)) == "custom")
    custom_ok = sum(
        1 for t in voice if t.outcome == "twiml" and rest_kind.get((t.round, t.phase)) == "custom"
    )
    return (
        f"- (c) Rasa's twilio_voice channel answered **HTTP 500 to {len(failed)} of "
        f"{len(voice)}** sequential turns; for {with_custom} of them the REST reply to the "
        "same words carried a custom payload (the channel reads `text` from every collected "
        "message; a custom payload is collected as a message without one). The dialogue "
        "turn itself had run by then, so these turns stay in (c)'s figures; the row below "
        f"(c) leaves them out. Custom payloads answered with TwiML anyway: {custom_ok}. "
        f"Rasa's log shows `KeyError: 'text'` {result.twilio_voice_key_errors} times while "
        f"the timed turns ran, for {all_failed} HTTP 500s (sequential and burst turns)."
    )


def _redis_commands(result: LatencyResult) -> list[str]:
    by_channel = {counted.channel: counted for counted in result.redis_commands}
    names = sorted(
        {name for counted in result.redis_commands for name in counted.by_command},
        key=lambda name: -max(c.by_command.get(name, 0.0) for c in result.redis_commands),
    )
    channels = [c for c in (APP, REST_STATE, REST_TRACKER, REST) if c in by_channel]
    turns = by_channel[channels[0]].turns if channels else 0
    lines = [
        f"Redis commands per first turn (mean of {turns} turns each, run alone, from INFO "
        "commandstats; the app's queue and call records in database 0 and Rasa's tracker and "
        "lock store in database 1 share this Redis). Commands a Lua script runs count beside "
        "its EVALSHA; MULTI/EXEC wrap redis-py pipelines (one round trip each):",
        "",
        "| command | " + " | ".join(channels) + " |",
        "|---|" + "--:|" * len(channels),
    ]
    for name in names:
        cells = " | ".join(f"{by_channel[c].by_command.get(name, 0.0):g}" for c in channels)
        lines.append(f"| {name} | {cells} |")
    totals = " | ".join(f"**{by_channel[c].total:g}**" for c in channels)
    lines.append(f"| total | {totals} |")
    return lines


def _cpu(result: LatencyResult) -> str:
    cpu = result.cpu
    total = cpu.machine.total
    app_calls = sum(1 for t in result.turns if t.channel == APP and t.phase == FIRST)
    app_turns = sum(1 for t in result.turns if t.channel == APP and t.phase in (FIRST, SECOND))
    rasa_turns = (
        sum(1 for t in result.turns if t.channel != APP and t.phase in (FIRST, SECOND)) + app_turns
    )

    def share(seconds: float) -> str:
        # As CPUs kept busy on average: 1.0 is one core all the time.
        return f"{seconds:.1f} s ({seconds / cpu.wall:.2f} CPUs)" if cpu.wall else "-"

    per_call = cpu.web / app_calls * 1000 if app_calls else float("nan")
    per_turn = cpu.rasa / rasa_turns * 1000 if rasa_turns else float("nan")
    other = cpu.other / total if total else 0.0
    steal = cpu.machine.steal / total if total else 0.0
    flag = (
        ": **figures disturbed, run again on a quiet machine**" if other + steal > DISTURBED else ""
    )
    return (
        f"CPU during the sequential phase ({cpu.wall:.0f} s wall, {total / cpu.wall:.0f} "
        f"CPUs): Rasa server {share(cpu.rasa)}, about {per_turn:.0f} ms per turn "
        f"({rasa_turns} turns, all channels); gunicorn {share(cpu.web)}, about "
        f"{per_call:.0f} ms per app call ({app_calls} calls: `/voice/incoming` and "
        f"{app_turns} turns); action server {share(cpu.actions)}; Redis {share(cpu.redis)}; "
        f"the simulated callers {share(cpu.client)}; kernel threads and other processes "
        f"{other:.0%}; stolen by the hypervisor {steal:.0%}{flag}."
    )


_APP_ADDS = """\
What (a) adds to a Rasa turn, in the order it happens (app/twilio_webhook.py,
app/conversation.py `turn`, app/assistant.py, app/dialogue_client.py):

1. **Twilio signature check**: HMAC-SHA1 of the public URL and every form field
   (`RequestValidator`), then the form validated into `GatherResult` (pydantic).
2. **Call record read** (Redis GET) and **the caller's words appended to the transcript**
   (redacted first: a PIN said aloud is never kept).
3. **Call facts for the dialogue**: the caller's **queue position** (`position.lua`) and
   the **wait estimate** from the queue snapshot (`snapshot.lua`), the customer matched from
   the caller's number (in memory).
4. **The Rasa turn itself**: `POST /webhooks/rest/webhook` with the call facts as metadata,
   then **`GET /conversations/<CallSid>/tracker`** (events since the last restart) to keep
   the slots and the latest intent with the call, under one 1.5 s budget and a circuit
   breaker. This pair is what (b+t) measures.
5. **Call record writes**: the record with the dialogue's slots, intent and what the caller
   is awaiting next, and the assistant's sentences appended to the transcript; then TwiML
   built with `VoiceResponse`.
6. Around all of it, gunicorn's gevent worker (request parsing, a greenlet per request)
   and Flask.

Rasa's twilio_voice channel (c) does none of 1-3 and 5: no signature check, no queue, no
metadata (its actions see no call facts), and it keys the conversation by the caller's
number (`From`), so two callers with a withheld number would share one conversation."""


def _latency(result: LatencyResult, info: RunInfo) -> list[str]:
    n = len(result.utterances)
    sections = [
        "## 1. Turn latency",
        "",
        f"The same {n} caller utterances (a fixed-seed sample of the NLU examples of the "
        'intents a caller opens with: the reasons for calling and "how long"; none asking '
        "for a person, which the app answers without Rasa), each opening a **new "
        f"conversation** on every channel, {result.repeat} pass{'es' * (result.repeat != 1)} "
        f"({n * result.repeat} per channel). The channels take turns utterance by "
        "utterance, in an order that rotates, so the machine's noise falls on all of them "
        "alike. Every request is timed as its client sees it (keep-alive `requests` "
        "sessions, loopback); signatures are computed before the clock starts.",
        "",
        "- (a) the project's turn endpoint: a call is placed first (signed "
        "`POST /voice/incoming`, not timed), then `POST /voice/turn` with "
        "`SpeechResult=<utterance>`, `Confidence=0.90`, signed as SimulatedTwilio does. Web "
        f"app: `{info.web_command}` ({info.web_size}, APP_ENV=development, the queue open all "
        "day).",
        "- (b) Rasa's REST channel directly, `{sender, message, metadata: {call: {...}}}` "
        "with the call facts the app would send (same shape and values).",
        "- (b+t) (b) plus `GET /conversations/<sender>/tracker`: the two requests the app's "
        "RasaClient makes per turn.",
        "- (c) Rasa's own `twilio_voice` channel with Twilio's form fields (CallSid, From, "
        "To, CallStatus=in-progress, SpeechResult, Confidence; a new `From` per conversation, "
        "since it is the channel's sender id). No ringing request first: with "
        "CallStatus=ringing and no SpeechResult the channel sends its `initial_prompt` "
        '("hello") to the dialogue as a user message, which would make the utterance the '
        "second message of the conversation.",
        "",
        "### First turns, one caller at a time (the main figure)",
        "",
        *_table(result, FIRST, FIRST),
        "",
        *_ratios(result, FIRST),
        "",
        _differences(result),
        "",
        *_outcomes(result),
        "",
        "### Second turns, one caller at a time",
        "",
        "The answer to the assistant's question in the same conversations (fewer: only where "
        "the app's caller was asked something).",
        "",
        *_table(result, SECOND, SECOND),
        "",
        *_ratios(result, SECOND),
        "",
    ]
    if result.in_flight > 1:
        sections += [
            f"### First turns, {result.in_flight} callers speaking at once",
            "",
            f"The same utterances in bursts of {result.in_flight} new conversations released "
            "together (their calls placed beforehand), one channel's burst after another, "
            "order rotating.",
            "",
            *_table(result, BURST, BURST),
            "",
            *_ratios(result, BURST),
            "",
            "Rasa answers on one event loop and a turn's prediction holds it (see the CPU per "
            "turn below), so concurrent turns queue; the tracker read-back of (a) and (b+t) is "
            "a second request that queues again behind the other callers' turns: compare "
            "(b+t)/(b) here with the one-at-a-time figure.",
            "",
        ]
    sections += [
        "### What the app adds",
        "",
        _APP_ADDS,
        "",
        *_redis_commands(result),
        "",
        _cpu(result),
        "",
    ]
    return sections


# -- intent accuracy ------------------------------------------------------------------------


def _entities(scores: list[EntityScores]) -> list[str]:
    if not scores:
        return ["No entity report was written (no entity examples in the held-out part)."]
    lines = []
    for score in scores:
        micro = f"micro F1 {score.micro_f1:.3f}, " if score.micro_f1 is not None else ""
        per_label = ", ".join(f"{s.name} {s.f1:.2f} (n={s.support})" for s in score.labels)
        lines.append(
            f"- Entities ({score.extractor}): {micro}macro F1 {score.macro_f1:.3f}, weighted "
            f"F1 {score.weighted_f1:.3f}; per entity: {per_label}."
        )
    return lines


def _interference(result: NluResult) -> str:
    found = result.train_interference
    line = (
        f"other processes used {found.other:.0%} of the machine's CPU time and the hypervisor "
        f"took {found.steal:.0%}"
    )
    disturbed = found.other + found.steal > DISTURBED
    return line + (": **training time disturbed**." if disturbed else ".")


# Issue 14's targets for held-out intent accuracy.
TARGET_LANGUAGE = 0.90
TARGET_INTENT = 0.80


def _languages(scores: list[LanguageScore], heading: str) -> list[str]:
    """Accuracy per language and each language's weakest intents (by recall)."""
    rows = []
    for score in scores:
        weak = [i for i in score.intents if i.recall < 1.0][:WEAKEST_PER_LANGUAGE] or []
        shown = (
            "; ".join(
                f"{i.intent} {i.correct}/{i.support}"
                + (
                    f" (as {', '.join(f'{k} {v}' for k, v in i.confused_with.items())})"
                    if i.confused_with
                    else ""
                )
                for i in weak
            )
            or "-"
        )
        below = [i.intent for i in score.intents if i.recall < TARGET_INTENT]
        mark = "" if score.accuracy >= TARGET_LANGUAGE and not below else " ⚠"
        rows.append(
            f"| {score.language}{mark} | {score.examples} | **{score.accuracy:.3f}** | "
            f"{score.answered_accuracy:.3f} | {shown} | {', '.join(below) or '-'} |"
        )
    return [
        heading,
        "",
        f"Targets: ≥ {TARGET_LANGUAGE:.0%} per language, ≥ {TARGET_INTENT:.0%} in every intent "
        "(⚠: missed). *Top intent*: as `rasa test nlu` scores; *answered*: right and above the "
        "fallback threshold, what a caller gets.",
        "",
        "| language | examples | top intent | answered | weakest intents (right/all) | "
        f"intents under {TARGET_INTENT:.0%} |",
        "|---|--:|--:|--:|---|---|",
        *rows,
        "",
    ]


def _nlu(result: NluResult) -> list[str]:
    weakest = [
        f"| {s.name} | {s.f1:.2f} | {s.precision:.2f} | {s.recall:.2f} | {s.support} | "
        + (", ".join(f"{k} ({v})" for k, v in s.confused_with.items()) or "-")
        + " |"
        for s in result.weakest
    ]
    errors = [
        f"| {e.text} | {e.intent} | {e.predicted} | {e.confidence:.2f} |" for e in result.errors
    ]
    correct = result.test_examples - result.error_count
    cross = (
        _languages(
            result.cross_validation,
            f"### Cross-validation, {result.folds} folds of the training part "
            f"({result.cross_validation_seconds:.0f} s)",
        )
        if result.folds
        else []
    )
    return [
        "## 2. Intent accuracy on held-out NLU data",
        "",
        f"`{result.split_command}` kept {result.test_examples} of "
        f"{result.train_examples + result.test_examples} examples aside ({result.intents} "
        f"intents), a fifth of each language by hash, never trained on by scripts/rasa-train; "
        f"an NLU-only model was trained on the other {result.train_examples} "
        f"with the project's pipeline in {result.train_seconds:.0f} s "
        f"(`{result.train_command}`), then `{result.test_command}` "
        f"({result.test_seconds:.0f} s). While it trained, {_interference(result)}",
        "",
        *_languages(result.languages, "### Per language (held-out part)"),
        *cross,
        "### All languages together",
        "",
        "| intent classification | value |",
        "|---|--:|",
        f"| **accuracy** | **{result.accuracy:.3f}** ({correct} of {result.test_examples}) |",
        f"| macro F1 | {result.macro_f1:.3f} |",
        f"| weighted F1 | {result.weighted_f1:.3f} |",
        "",
        f"The {len(result.weakest)} weakest intents (by F1):",
        "",
        "| intent | F1 | precision | recall | support | confused with (count) |",
        "|---|--:|--:|--:|--:|---|",
        *weakest,
        "",
        *_entities(result.entities),
        f"- Below the FallbackClassifier threshold ({result.fallback_threshold:g}): "
        f"{result.below_threshold} of {result.test_examples} held-out examples "
        f"({result.correct_below_threshold} of them with the right top intent). Rasa's test "
        "scores the top intent and ignores the fallback; in a call these would be answered "
        '"Sorry, I didn\'t catch that" (the ambiguity rule, top two within 0.1, can add more; '
        "the test files do not carry the second intent).",
        "",
        f"Misclassified, most confident first ({len(result.errors)} of {result.error_count}):",
        "",
        "| said | intent | predicted | confidence |",
        "|---|---|---|--:|",
        *errors,
        "",
    ]


_NOTES = """\
## Notes

- **One machine**: the simulated callers, gunicorn, Rasa, the action server and Redis share
  its CPUs; compare figures within one run. p99 of a few dozen turns is close to the
  slowest turn: read it as a tail indication only.
- **First turns** include Rasa's session start (`action_session_start` on the action
  server) on every channel, since every conversation is new.
- **Held-out accuracy** comes from one fixed 80/20 split (by hash, per language): each
  intent has only a handful of test examples per language, so one example moves an intent's
  figure a lot; the cross-validation (`--folds`) is the steadier estimate.
"""


def _summary(latency: LatencyResult | None, nlu: NluResult | None) -> list[str]:
    lines = ["## Summary", ""]
    if latency is not None:
        p50 = {c: percentile(latency.ms(c, FIRST), 0.5) for c in CHANNELS}
        mean = {c: statistics.fmean(latency.ms(c, FIRST) or [float("nan")]) for c in CHANNELS}
        fallbacks = sum(1 for t in latency.turns if t.outcome == "keypad_menu")
        voice = [t for t in latency.turns if t.channel == TWILIO_VOICE and t.phase == FIRST]
        failed = sum(1 for t in voice if t.outcome == "http 500")
        lines += [
            f"- First turn, one caller at a time, p50 (mean): (a) app **{p50[APP]:.0f} ms** "
            f"({mean[APP]:.0f}), (b) Rasa REST **{p50[REST]:.0f} ms** ({mean[REST]:.0f}), "
            f"(c) Rasa twilio_voice **{p50[TWILIO_VOICE]:.0f} ms** "
            f"({mean[TWILIO_VOICE]:.0f}). **(a)/(b) = {p50[APP] / p50[REST]:.2f}**, "
            f"**(a)/(c) = {p50[APP] / p50[TWILIO_VOICE]:.2f}** at p50 "
            f"({mean[APP] / mean[REST]:.2f} and {mean[APP] / mean[TWILIO_VOICE]:.2f} in mean).",
            f"- Keypad-menu fallbacks in the app's answers: {fallbacks} (all phases).",
            f"- Rasa's twilio_voice channel answered HTTP 500 to {failed} of {len(voice)} first "
            "turns: it cannot voice this dialogue's custom payloads.",
        ]
    if nlu is not None:
        lines.append(
            "- Held-out accuracy per language: "
            + ", ".join(f"{s.language} **{s.accuracy:.3f}**" for s in nlu.languages)
            + "."
        )
        lines.append(
            f"- Held-out intents, all languages: accuracy **{nlu.accuracy:.3f}**, macro F1 "
            f"{nlu.macro_f1:.3f}, weighted F1 {nlu.weighted_f1:.3f} ({nlu.test_examples} "
            f"examples, {nlu.intents} intents); weakest: "
            + ", ".join(f"{s.name} {s.f1:.2f}" for s in nlu.weakest[:3])
            + "."
        )
    return [*lines, ""]


def _languages_latency(result: LanguagesResult) -> list[str]:
    english = next((r for r in result.latency if r.language == "en-US"), None)
    rows = [
        f"| {r.language} | {len(r.ms)} | {r.p50:.0f} | {r.p95:.0f} | {r.mean:.0f} | "
        + (f"{r.p50 / english.p50:.2f}" if english and english.ms else "-")
        + f" | {r.errors} |"
        for r in result.latency
    ]
    total = sum(result.rss_mb.values())
    return [
        "## 3. Languages: turn latency and memory",
        "",
        "First turns through Rasa's REST channel, one at a time, each language's own "
        "examples and `call.language`, the languages taking turns (bench/dialogue_languages.py).",
        "",
        "| language | turns | p50 ms | p95 ms | mean ms | p50 / en-US | errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
        *rows,
        "",
        "Resident memory after these turns: "
        + ", ".join(f"{name} {mb:.0f} MiB" for name, mb in result.rss_mb.items())
        + f"; the dialogue's processes together {total:.0f} MiB (budget 3 GiB).",
        "",
    ]


def render(
    info: RunInfo,
    latency: LatencyResult | None,
    nlu: NluResult | None,
    languages: LanguagesResult | None = None,
) -> str:
    lines = [
        "# Dialogue benchmark",
        "",
        f"Run {info.started} in {info.seconds:.0f} s by `bench/run-dialogue`. {info.machine}. "
        f"{info.versions}. Model `{info.model}`.",
        "",
        *_summary(latency, nlu),
    ]
    if latency is not None:
        lines += _latency(latency, info)
    if nlu is not None:
        lines += _nlu(nlu)
    if languages is not None:
        lines += _languages_latency(languages)
    lines.append(_NOTES)
    return "\n".join(lines)
