"""The operator page: every queue at a glance, for supervisors (agents with `supervisor:
true` in the agents file, signed in through the console). HTML that refreshes itself, and
the same as JSON for tooling."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template

from app.bootstrap import get_services
from app.queue_overview import QueueOverview, queue_overviews
from app.web.agent import security_headers, signed_in

bp = Blueprint("operator", __name__, url_prefix="/operator", template_folder="templates")
bp.after_request(security_headers)


def _overviews() -> list[Any]:
    if not g.agent.supervisor:
        abort(403, "The operator page is for supervisors.")
    services = get_services()
    return queue_overviews(
        services.config,
        services.queue,
        services.agents,
        services.wait_accuracy,
        services.callback_outcomes,
        services.figures,
        current_app.config["CLOCK"],
    )


def _config_refused() -> Any:
    return current_app.extensions["config_reload"].refused


def _page(template: str) -> str:
    queues = _overviews()
    faults = get_services().rest_faults
    return render_template(
        template,
        agent=g.agent,
        queues=queues,
        rest_faults=faults.counts(),
        credentials_refused=faults.credentials_refused(),
        config_refused=_config_refused(),
        csrf_token=g.agent_session.csrf_token,
    )


@bp.get("/")
@signed_in
def overview() -> str:
    return _page("operator/overview.html")


@bp.get("/live")
@signed_in
def live() -> str:
    """The page's live part alone, rendered as the page renders it: operator.js swaps it in
    every few seconds, so the figures update without a reload."""
    return _page("operator/live.html")


def _queue_json(queue: QueueOverview) -> dict[str, Any]:
    fields = dataclasses.asdict(queue) | {"today": queue.today.as_dict()}
    del fields["charts"]  # drawing instructions, for the page only
    for language, overview in zip(fields["languages"], queue.languages, strict=True):
        language["today"] = overview.today.as_dict()
    return fields


@bp.get("/queues.json")
@signed_in
def overview_json() -> Response:
    queues = _overviews()
    faults = get_services().rest_faults
    return jsonify(
        queues=[_queue_json(q) for q in queues],
        rest_faults=[dataclasses.asdict(f) for f in faults.counts()],
        credentials_refused=faults.credentials_refused(),
        config_refused=dataclasses.asdict(refused) if (refused := _config_refused()) else None,
    )
