"""`GET /healthz`: each component's state; 503 when a required one is down, 200 with status
`degraded` when only an optional one is (callers still queue and reach people). It needs no
sign-in (load balancers call it), so it shows states only: the reason a component is down
(an exception's text, an address) goes to the log."""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, Response, current_app, jsonify

from app import metrics
from app.bootstrap import Services, get_services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _check_redis(client: redis.Redis) -> dict[str, object]:
    started = time.perf_counter()
    try:
        client.ping()
    except redis.RedisError as exc:
        log.warning("health: Redis unreachable: %s: %s", type(exc).__name__, exc)
        return {"ok": False, "required": True, "state": "unreachable"}
    return {
        "ok": True,
        "required": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def _check_rasa(services: Services) -> dict[str, object]:
    # Not required: without the assistant callers still queue and get the keypad menu.
    if not services.config.operator.assistant.enabled:
        return {"ok": True, "required": False, "state": "disabled"}
    started = time.perf_counter()
    up = services.dialogue.is_up(timeout=1.0)
    state: dict[str, object] = {
        "ok": up,
        "required": False,
        "breaker": "open" if services.dialogue.is_open else "closed",
    }
    if up:
        state["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return state


def _check_twilio(services: Services) -> dict[str, object]:
    # Not required for callers already here, but nobody is put through to an agent while
    # Twilio refuses the credentials: a setting to fix, not an outage to wait out. Only
    # Twilio's own answers count (no request is made here: this page is public).
    try:
        refused = services.rest_faults.credentials_refused()
    except redis.RedisError:
        return {"ok": False, "required": False, "state": "unknown"}
    if refused is None:
        return {"ok": True, "required": False}
    return {
        "ok": False,
        "required": False,
        "state": "credentials refused",
        "code": refused["code"],
    }


def _check_config() -> dict[str, object]:
    # A changed operator or queues YAML that did not load: the running configuration stays
    # (callers are served as before), but the operator's change is not in effect.
    refused = current_app.extensions["config_reload"].refused
    if refused is None:
        return {"ok": True, "required": False}
    return {"ok": False, "required": False, "state": "change refused"}


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus's scrape: every process's counters and the queues' figures (app.metrics).
    Like /healthz it needs no sign-in and holds no caller's number, name or secret."""
    services = get_services()
    return Response(
        metrics.exposition(services.config, services.queue),
        mimetype=None,
        content_type=metrics.CONTENT_TYPE,
    )


@bp.get("/healthz")
def healthz() -> Response:
    services = get_services()
    components = {
        "redis": _check_redis(services.redis),
        "rasa": _check_rasa(services),
        "twilio": _check_twilio(services),
        "config": _check_config(),
    }
    healthy = all(c["ok"] for c in components.values() if c["required"])
    whole = all(c["ok"] for c in components.values())
    status = "ok" if whole else "degraded" if healthy else "unavailable"
    response = jsonify(status=status, components=components)
    response.status_code = 200 if healthy else 503
    return response
