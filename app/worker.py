"""The RQ worker the Procfile runs (`rq worker --worker-class app.worker.AppWorker`): jobs run
inside the app, so they reach the same wiring as web views (`bootstrap.get_services()`)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue

from app import create_app

COMMAND_WAKE_SECONDS = 1.0


class AppWorker(SimpleWorker):
    """Runs each job in an application context of `app` (tests give the app they built; the
    worker process builds it from the environment at start, so a bad configuration stops it
    there rather than at its first job, outside rq's failure handling)."""

    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = app or create_app()

    def subscribe(self) -> None:
        # As rq's, but its command listener (a thread waiting for "stop" or "kill this job")
        # wakes every second, not every 60: since redis-py 8.2 stopping that thread waits for
        # it, so a worker took up to a minute to quit, a deploy's restart or a burst run
        # (tests/test_dispatch_race.py saw offers' leases lapse meanwhile).
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # rq annotates the attribute with its initial None only.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=COMMAND_WAKE_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self._app.app_context():
            self._app.extensions["config_reload"].check(self._app)
            super().execute_job(job, queue)
