"""Commands of several stores sent to Redis in one round trip: each store queues its own
commands and gets back a function that reads its replies once the batch is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.client import Pipeline
from redis.cluster import RedisCluster


class Batch:
    def __init__(self, client: redis.Redis) -> None:
        self._pipe: Pipeline = client.pipeline(transaction=False)
        self._replies: list[Any] | None = None
        # redis-py's cluster pipeline refuses scripts: they are run on their own there.
        self.takes_scripts = not isinstance(client, RedisCluster)

    def queue(self, add: Callable[[Pipeline], object]) -> Callable[[], list[Any]]:
        """Queue the commands `add` puts on the pipeline. The function returned gives their
        replies once sent, a command's error as the exception (not raised)."""
        start = len(self._pipe)
        add(self._pipe)
        end = len(self._pipe)

        def replies() -> list[Any]:
            if self._replies is None:
                raise RuntimeError("the batch has not been sent")
            return self._replies[start:end]

        return replies

    def send(self) -> None:
        """One round trip (on a Redis Cluster, one per node, in parallel)."""
        self._replies = self._pipe.execute(raise_on_error=False)
