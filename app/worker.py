"""The RQ worker the Procfile runs (`rq worker --worker-class app.worker.AppWorker`): jobs run
inside the app, so they reach the same wiring as web views (`bootstrap.get_services()`)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue

from app import create_app


class AppWorker(SimpleWorker):
    """Runs each job in an application context of `app` (tests give the app they built; the
    worker process builds it from the environment at start, so a bad configuration stops it
    there rather than at its first job, outside rq's failure handling)."""

    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = app or create_app()

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self._app.app_context():
            self._app.extensions["config_reload"].check(self._app)
            super().execute_job(job, queue)
