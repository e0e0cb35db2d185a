"""Prometheus metrics (`GET /metrics`). Counters and histograms are kept per process and, with
`PROMETHEUS_MULTIPROC_DIR` set (the Procfile's processes: gunicorn's several workers, the RQ
worker), summed over every process at scrape time by prometheus_client's multiprocess mode.
The queue's own figures (depth, oldest wait, agents) are read from Redis at scrape time, so
every process reports the same truth.

No label ever holds a caller's number, name or secret: labels are queues, routes, outcomes,
Twilio error codes and agent states only."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.queue_service import AgentState, QueueService
from app.settings import OperatorConfig

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

CALLS = Counter("qa_calls_total", "Calls given a new place in a queue", ["queue"])
CALL_ENDS = Counter(
    "qa_call_ends_total",
    "Calls that ended, by how (finished with an agent, held, released, callback, unknown)",
    ["queue", "outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "qa_webhook_seconds",
    "Time to answer a Twilio webhook, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0),
)
TURNS = Counter(
    "qa_assistant_turns_total",
    "Assistant turns, by result (answered, or the keypad menu because it was unavailable)",
    ["result"],
)
DISPATCHES = Counter("qa_dispatch_total", "Offers to agents, by result", ["queue", "result"])
REST_FAULTS = Counter(
    "qa_twilio_rest_faults_total",
    "Twilio REST requests that failed, by operation, kind and Twilio's code",
    ["operation", "kind", "code"],
)


class QueueCollector(Collector):
    """Each queue's depth, callers waiting, oldest wait and agents by state, read from Redis
    when scraped."""

    def __init__(
        self, config: OperatorConfig, queue: QueueService, clock: Callable[[], float]
    ) -> None:
        self._config = config
        self._queue = queue
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("qa_queue_depth", "Callers counted in the line", labels=["queue"])
        ready = GaugeMetricFamily(
            "qa_queue_waiting", "Callers waiting to be offered", labels=["queue"]
        )
        callbacks = GaugeMetricFamily(
            "qa_queue_callbacks_pending", "Callbacks asked for, not yet made", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "qa_queue_oldest_wait_seconds",
            "How long the first in line has waited",
            labels=["queue"],
        )
        agents = GaugeMetricFamily(
            "qa_agents", "Agents signed in, by state", labels=["queue", "state"]
        )
        now = self._clock()
        for queue in self._config.queues.queues:
            snapshot = self._queue.snapshot(queue)
            depth.add_metric([queue.name], snapshot.line_length)
            ready.add_metric([queue.name], snapshot.ready)
            callbacks.add_metric([queue.name], snapshot.callbacks)
            first = snapshot.oldest_joined_at
            oldest.add_metric([queue.name], max(0.0, now - first) if first else 0.0)
            for state in AgentState:
                count = sum(1 for s in snapshot.agents.values() if s is state)
                agents.add_metric([queue.name, state.value], count)
        yield from (depth, ready, callbacks, oldest, agents)


def exposition(config: OperatorConfig, queue: QueueService) -> bytes:
    """The text Prometheus scrapes: every process's counters (multiprocess mode when
    `PROMETHEUS_MULTIPROC_DIR` is set, else this process's) and the queues' gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in (CALLS, CALL_ENDS, WEBHOOK_SECONDS, TURNS, DISPATCHES, REST_FAULTS):
            registry.register(metric)
    registry.register(QueueCollector(config, queue, time.time))
    return generate_latest(registry)
