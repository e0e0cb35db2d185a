"""Time as the app reads it: epoch seconds from a function passed in everywhere (never read
directly), so tests move the clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]
