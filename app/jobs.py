"""Background work, run by the RQ worker (`app.worker.AppWorker`): putting callers through to
agents, and a periodic sweep. The web side only enqueues (`app.job_queue`); the functions
here are the jobs, and find their services where views do."""

from __future__ import annotations

from app import logs
from app.bootstrap import get_services


def dispatch_queue(queue_name: str) -> int:
    """Job: offer the queue's waiting callers to its available agents. Returns how many
    calls were put through."""
    services = get_services()
    with logs.about_call(queue=queue_name):
        return len(services.dispatcher.dispatch(services.config.queue_named(queue_name)))


def sweep() -> int:
    """Periodic job: end calls Twilio says are over but whose end was never reported, then
    dispatch every queue, so a caller whose agent's lease lapsed (or whose dispatch job was
    lost) is offered again without waiting for the next event. Returns calls put through."""
    services = get_services()
    services.stale_calls.sweep()
    return sum(len(services.dispatcher.dispatch(q)) for q in services.config.queues.queues)
