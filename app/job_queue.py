"""The web side of background jobs: ask a worker to do something soon. Jobs are named by
their import path, so enqueuing never imports the worker's code."""

from __future__ import annotations

import redis
from rq import Queue, Retry

DISPATCH_QUEUE = "dispatch"
# Twilio unreachable: try again soon, then leave it to the periodic sweep.
_RETRY = Retry(max=3, interval=[1, 3, 10])


class JobQueue:
    def __init__(self, connection: redis.Redis) -> None:
        self._connection = connection
        self._queue = Queue(DISPATCH_QUEUE, connection=connection)

    def close(self) -> None:
        """The jobs' own Redis connection pool (the app's, when they share one: closing it
        twice is harmless)."""
        self._connection.close()

    @property
    def rq_queue(self) -> Queue:
        return self._queue

    def dispatch_soon(self, queue_name: str) -> None:
        """Offer this queue's waiting callers to its available agents, now."""
        self._queue.enqueue(
            "app.jobs.dispatch_queue",
            queue_name,
            job_timeout=60,
            result_ttl=0,
            failure_ttl=7 * 86400,
            retry=_RETRY,
        )
