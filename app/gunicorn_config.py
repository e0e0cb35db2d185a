"""gunicorn's settings for the app (the Procfile: `gunicorn -c python:app.gunicorn_config`):
its own logs (start-up, errors, the access log) as the app's JSON lines, numbers masked
(`app.logs`); and a worker's Prometheus files marked dead when it exits, so `/metrics` in
multiprocess mode keeps its counters but drops its gauges (`app.metrics`); and what a
worker built at start frozen out of the garbage collector's full collections."""

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
    # gunicorn configures the root logger too; the app's own lines go through it.
    "root": {"level": "INFO", "handlers": ["stderr"]},
}


def child_exit(_server: Any, worker: Any) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(_worker: Any) -> None:
    # Everything the app built at start (modules, settings, scripts: hundreds of thousands
    # of objects) is moved out of the collector's reach: a full collection then takes about
    # 13 ms instead of 75-100, which callers polling at that moment would wait.
    import gc

    gc.freeze()
