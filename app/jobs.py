"""Background work, run by RQ workers (`rq worker --with-scheduler dispatch`): putting callers
through to agents, and a periodic sweep. The web side only enqueues (`app.job_queue`); the
functions here are the jobs, and build the worker's services once per process."""

from __future__ import annotations

import logging
import time

from app.services import Services, build_services
from app.settings import load_operator_config, load_settings

log = logging.getLogger(__name__)

_services: Services | None = None


def use_services(services: Services | None) -> None:
    """Give the jobs in this process their services (tests; a worker builds its own)."""
    global _services
    _services = services


def worker_services() -> Services:
    global _services
    if _services is None:
        # The worker's own log shows what the jobs did (calls put through, calls ended).
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        # twilio-python logs every request's headers at INFO.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        settings = load_settings()
        config = load_operator_config(settings.operator_file, settings.queues_file)
        _services = build_services(settings, config, time.time)
    return _services


def dispatch_queue(queue_name: str) -> int:
    """Job: offer the queue's waiting callers to its available agents. Returns how many
    calls were put through."""
    services = worker_services()
    return len(services.dispatcher.dispatch(services.config.queue_named(queue_name)))


def sweep() -> int:
    """Periodic job: end calls Twilio says are over but whose end was never reported, then
    dispatch every queue, so a caller whose agent's lease lapsed (or whose dispatch job was
    lost) is offered again without waiting for the next event. Returns calls put through."""
    services = worker_services()
    services.stale_calls.sweep()
    return sum(len(services.dispatcher.dispatch(q)) for q in services.config.queues.queues)
