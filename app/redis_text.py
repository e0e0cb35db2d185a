"""Redis replies as text. The app's connections return bytes (no `decode_responses`), and
Lua scripts return numbers as integers; redis-py's types cannot say which, so one function
does."""

from __future__ import annotations


def text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"expected a Redis string or number, got {value!r}")
