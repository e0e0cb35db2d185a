"""A worker quits promptly: rq's listener for commands (stop, kill a job) is a thread that
waits for messages, and since redis-py 8.2 stopping it waits for it. With rq's own wait of
60 s a worker took up to a minute to quit, and offers made just before (a burst run, a
deploy's restart) saw their leases lapse meanwhile."""

from __future__ import annotations

import threading
import time

import redis
from flask import Flask

from app.job_queue import DISPATCH_QUEUE
from app.worker import AppWorker


def test_the_command_listener_stops_when_the_worker_unsubscribes(
    app: Flask, redis_client: redis.Redis
) -> None:
    worker = AppWorker([DISPATCH_QUEUE], connection=redis_client, app=app)
    worker.subscribe()
    listener = worker.pubsub_thread
    assert listener is not None and listener.is_alive()

    # The listener reads the reply to the worker's unsubscribe before the worker stops it,
    # the order a busy machine gives (on an idle one the stop usually comes first). Then,
    # as rq's teardown does, the worker stops it: a minute's wait would be the old one, so a
    # generous bound tells the two apart on however slow a machine.
    worker.pubsub.unsubscribe()
    for _ in range(500):
        if not worker.pubsub.subscribed:
            break
        time.sleep(0.01)
    assert not worker.pubsub.subscribed
    quitting = threading.Thread(target=worker.unsubscribe, daemon=True)
    quitting.start()
    quitting.join(timeout=20)
    assert not quitting.is_alive(), "unsubscribing waited on the listener's minute"
    listener.join(timeout=5)
    assert not listener.is_alive()
