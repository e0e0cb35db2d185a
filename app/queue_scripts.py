"""The queue's Lua scripts (`queue/*.lua`) as Python sees them: loaded once with redis-py's
`register_script`, and each script's reply typed by a NamedTuple that matches the
"Returns:" header of its file. The contract between Lua and Python is written here once;
`app.queue_service` turns these raw replies into the queue's domain values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, get_origin, get_type_hints

import redis
from redis.commands.core import Script

from app.redis_batch import Batch
from app.redis_text import text


class ScriptReplyError(RuntimeError):
    """A script answered in a shape its reply type does not describe (a Lua file and this
    module disagree)."""


class TakeSlotReply(NamedTuple):
    """take_slot.lua: {ticket, people_ahead, outcome, previous_call_sid, language}"""

    ticket: int
    people_ahead: int
    outcome: str
    previous_call_sid: str
    language: str  # '' while the caller has not chosen one


class ChooseLanguageReply(NamedTuple):
    """choose_language.lua: {outcome, people_ahead}"""

    outcome: str
    people_ahead: int  # -1 when the call has no place


class PositionReply(NamedTuple):
    """position.lua: {state, people_ahead, line_length, ticket, joined_at, agent, language}"""

    state: str
    people_ahead: int  # -1: not counted (serving, unknown)
    line_length: int
    ticket: int
    joined_at: str  # epoch seconds, '' when unknown
    agent: str  # '' when not offered or serving
    language: str  # '' while not chosen (or unknown)


class PollReply(NamedTuple):
    """poll.lua: {position, inputs}"""

    position: PositionReply
    inputs: str  # the queue's count of changes to what the wait estimate learns from


class EndCallReply(NamedTuple):
    """end_call.lua: outcome"""

    outcome: str


class LeaveReply(NamedTuple):
    """leave.lua: 'released' | 'unknown'"""

    outcome: str


class DispatchReply(NamedTuple):
    """dispatch.lua: {agent_id, call_sid, ticket, joined_at, language, callback_number,
    offer_id} (or nil: nobody to pair)"""

    agent_id: str
    call_sid: str  # '' for a callback to place
    ticket: int
    joined_at: float
    language: str
    callback_number: str  # '' for a caller on the line
    offer_id: int


class RequestCallbackReply(NamedTuple):
    """request_callback.lua: {outcome, people_ahead}"""

    outcome: str
    people_ahead: int


class CallbackPlacedReply(NamedTuple):
    """callback_placed.lua: {outcome, origin_call_sid}"""

    outcome: str
    origin_call_sid: str


class OfferDeliveredReply(NamedTuple):
    """offer_delivered.lua: outcome"""

    outcome: str


class BookAtOpeningReply(NamedTuple):
    """book_at_opening.lua: {outcome, ticket}"""

    outcome: str
    ticket: int


class CallbackFailedReply(NamedTuple):
    """callback_failed.lua: {outcome, tries}"""

    outcome: str
    tries: int


class ConnectReply(NamedTuple):
    """connect.lua: {outcome, seconds_waited}"""

    outcome: str
    seconds_waited: float


class RequeueFrontReply(NamedTuple):
    """requeue_front.lua: {outcome, people_ahead}"""

    outcome: str
    people_ahead: int


class SnapshotReply(NamedTuple):
    """snapshot.lua: {line_length, ready, held, offered, serving, handled_json_list,
    agents_json, undecided, languages_json, callbacks, oldest_joined_at, waited, gone}"""

    line_length: int
    ready: int
    held: int
    offered: int
    serving: int
    handled_json_list: list[str]  # JSON records of recent conversations, most recent first
    agents_json: str  # {agent id: {state, languages}}
    undecided: int
    languages_json: str  # {language: {line, ready}}
    callbacks: int  # asked for and not yet made
    oldest_joined_at: str  # epoch seconds, '' when the line is empty
    waited: str  # seconds waited by callers who left the line in the patience window
    gone: int  # how many of them hung up unanswered


class AgentStateReply(NamedTuple):
    """agent_state.lua: {outcome, state}"""

    outcome: str
    state: str


class ReconcileReply(NamedTuple):
    """reconcile.lua: {outcome, moved, placed, removed, agents, unknown}"""

    outcome: str  # 'done' | 'stale' (call again with `unknown` among the retired languages)
    moved: int  # callers moved from a retired language into the default
    placed: int  # callers without a language given the default or put with those choosing
    removed: int  # tickets or set entries that had no place where they were
    agents: int  # agents given the default language or whose idle entries were put right
    unknown: str  # comma-separated codes in use that were not passed as retired


class AgentReply(NamedTuple):
    """agent.lua: the agent's JSON record"""

    record: str


# One of the reply types above (a NamedTuple: mypy sees it through its tuple base).
R = TypeVar("R", bound=tuple[Any, ...])
ScriptArg = str | int | float

SCRIPT_NAMES = (
    "take_slot",
    "choose_language",
    "position",
    "poll",
    "end_call",
    "leave",
    "dispatch",
    "connect",
    "requeue_front",
    "snapshot",
    "agent_state",
    "agent",
    "reconcile",
    "request_callback",
    "callback_placed",
    "callback_failed",
    "book_at_opening",
    "offer_delivered",
)


class QueueScripts:
    """The registered scripts of one Redis connection."""

    def __init__(self, client: redis.Redis, directory: Path) -> None:
        common = (directory / "_common.lua").read_text(encoding="utf-8")
        self._scripts: dict[str, Script] = {
            name: client.register_script(
                common + "\n" + (directory / f"{name}.lua").read_text(encoding="utf-8")
            )
            for name in SCRIPT_NAMES
        }

    def run(self, name: str, reply: type[R], keys: list[str], args: list[ScriptArg]) -> R:
        raw = self._scripts[name](keys=keys, args=args)
        if raw is None:
            raise ScriptReplyError(f"{name}.lua returned nil")
        return parse_reply(reply, raw)

    def run_in(
        self, batch: Batch, name: str, reply: type[R], keys: list[str], args: list[ScriptArg]
    ) -> Callable[[], R]:
        """Queue the script on `batch`; the function returned parses its reply once the
        batch is sent (raising redis' NoScriptError when the server did not have it yet)."""
        script = self._scripts[name]
        if batch.takes_scripts:
            queued = batch.queue(lambda pipe: pipe.evalsha(script.sha, len(keys), *keys, *args))
        else:  # a round trip of its own, now
            ran = [script(keys=keys, args=args)]
            queued = lambda: ran  # noqa: E731

        def parsed() -> R:
            (raw,) = queued()
            if isinstance(raw, Exception):
                raise raw
            if raw is None:
                raise ScriptReplyError(f"{name}.lua returned nil")
            return parse_reply(reply, raw)

        return parsed

    def run_optional(
        self, name: str, reply: type[R], keys: list[str], args: list[ScriptArg]
    ) -> R | None:
        """For a script whose reply may be nil (nothing to do)."""
        raw = self._scripts[name](keys=keys, args=args)
        return None if raw is None else parse_reply(reply, raw)


def parse_reply(reply: type[R], raw: object) -> R:
    """A script's raw reply (a Redis value, or a list of them) as `reply`, each field
    converted to the type it declares."""
    values = raw if isinstance(raw, list) else [raw]
    fields = _fields(reply)
    if len(values) != len(fields):
        raise ScriptReplyError(f"{reply.__name__} expects {list(fields)}, got {raw!r}")
    converted = [_convert(kind, value) for kind, value in zip(fields.values(), values, strict=True)]
    return tuple.__new__(reply, converted)


@functools.cache
def _fields(reply: type[tuple[Any, ...]]) -> dict[str, Any]:
    """A reply's fields and their types, in the order the NamedTuple declares them."""
    return get_type_hints(reply)


def _convert(kind: Any, value: object) -> object:
    if isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields"):
        if not isinstance(value, list):
            raise ScriptReplyError(f"expected a list, got {value!r}")
        return parse_reply(kind, value)  # a reply within the reply
    if get_origin(kind) is list:
        if not isinstance(value, list):
            raise ScriptReplyError(f"expected a list, got {value!r}")
        return [text(item) for item in value]
    if kind is int:
        return int(text(value))
    if kind is float:
        return float(text(value))
    return text(value)
