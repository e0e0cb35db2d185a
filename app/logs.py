"""The app's logs: one JSON object per line (time, level, logger, message), keyed by the
call (`call_sid`) and queue the line is about, so a call's story can be followed across web
processes and workers. Nothing that identifies a caller is written: every run of digits long
enough to be a phone or account number is masked down to its last two digits, whatever the
code logging it passed in (PINs and names are never logged at all; the end-to-end test greps
a whole run's logs for every demo customer's)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# Seven or more digits, perhaps after "+" and with spaces, brackets or dashes between (a
# phone or account number written any way), not inside a word (a CallSid's hex stays
# whole) nor dotted (an IP address or a version stays readable).
_NUMBER = re.compile(r"(?<![\w.])\+?\d(?:[\d ()-]{5,}\d)(?![\w.])")
_DIGITS_KEPT = 2

_call: ContextVar[dict[str, str]] = ContextVar("log_call", default={})  # noqa: B039


def mask(text: str) -> str:
    """Every number in `text` as stars but its last two digits ("+14155550101" -> "*01")."""

    def masked(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "*" + digits[-_DIGITS_KEPT:]

    return _NUMBER.sub(masked, text)


@contextmanager
def about_call(call_sid: str | None = None, queue: str | None = None) -> Iterator[None]:
    """Lines logged inside carry this call and queue."""
    keys = {k: v for k, v in (("call_sid", call_sid), ("queue", queue)) if v}
    token = _call.set(_call.get() | keys)
    try:
        yield
    finally:
        _call.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        line.update(_call.get())
        if record.exc_info:
            line["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process (web, worker), once."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
