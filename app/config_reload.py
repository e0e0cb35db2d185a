"""The operator's YAML (operator.yml, queues.yml) taken up without a restart. Every process
looks at the files' modification times at most every few seconds (a request or a job
triggers it). A changed pair is validated first: when it loads, the process's services are
rebuilt on it (queues reconciled, as at start); when it does not, the running configuration
stays and the error, naming the file, the field and its line, is kept for `/healthz` and
the operator page until the files change again."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from app.settings import SettingsError, load_operator_config

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class Refused:
    """A change that did not load: what the operator must fix."""

    at: float
    error: str


class ConfigReload:
    def __init__(self, operator_file: Path, queues_file: Path) -> None:
        self._files = (operator_file, queues_file)
        self._lock = threading.Lock()
        self._seen = self._stamps()
        self._checked = time.monotonic()
        self.refused: Refused | None = None

    def _stamps(self) -> tuple[float, ...]:
        stamps = []
        for path in self._files:
            try:
                stamps.append(path.stat().st_mtime)
            except OSError:
                stamps.append(-1.0)
        return tuple(stamps)

    def check(self, app: Flask) -> bool:
        """Take up changed files (at most every CHECK_EVERY_SECONDS). True when the
        configuration in use changed."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_SECONDS:
            return False
        with self._lock:
            self._checked = now
            stamps = self._stamps()
            if stamps == self._seen:
                return False
            self._seen = stamps
            try:
                config = load_operator_config(*self._files)
            except SettingsError as exc:
                self.refused = Refused(time.time(), str(exc))
                log.error("configuration change refused, the running one stays: %s", exc)
                return False
            from app import bootstrap

            bootstrap.replace_config(app, config)
            self.refused = None
            log.info("configuration reloaded from %s", ", ".join(map(str, self._files)))
            return True
