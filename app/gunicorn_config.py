"""gunicorn's own logs (its start-up and errors, and the access log) as the app's JSON lines,
numbers masked (`app.logs`). Used by the Procfile: `gunicorn -c python:app.gunicorn_config`."""

from __future__ import annotations

from typing import Any

logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        name: {"level": "INFO", "handlers": ["stderr"], "propagate": False}
        for name in ("gunicorn.error", "gunicorn.access")
    },
}
