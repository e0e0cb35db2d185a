"""`GET /metrics`: Prometheus counters and histograms for calls, outcomes, webhooks, turns,
dispatch and REST faults, and the queues' figures read from Redis; summed over gunicorn's
several workers in multiprocess mode; no caller's number in any label."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from standin import HttpTransport, SimulatedTwilio
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    SUPPORT_NUMBER,
    process_environment,
)
from tests.full_stack import open_all_week
from tests.web_process import voice_web


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_metrics_count_calls_and_webhooks_and_show_the_queue(client, twilio) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    for i in range(3):
        call = twilio.dial(f"+1415555060{i}", SUPPORT_NUMBER)
    call.hang_up()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    after = response.get_data(as_text=True)
    calls = value(after, "qa_calls_total", queue="support")
    assert calls - value(before, "qa_calls_total", queue="support") == 3
    held = value(after, "qa_call_ends_total", queue="support", outcome="held")
    assert held - value(before, "qa_call_ends_total", queue="support", outcome="held") == 1
    assert value(after, "qa_webhook_seconds_count", route="incoming") >= 3
    assert value(after, "qa_queue_depth", queue="support") == 3  # the held place counts
    assert value(after, "qa_queue_oldest_wait_seconds", queue="support") >= 0
    assert "+1415" not in after and "1415555060" not in after


@pytest.fixture
def gunicorn(redis_url: str, redis_client, tmp_path: Path) -> Iterator[str]:
    """The web process as the Procfile runs it: two workers sharing Prometheus files."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = process_environment(
        redis_url,
        {
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "OPERATOR_FILE": str(open_all_week(tmp_path)),  # CI runs at any hour
        },
    )
    with voice_web(env, tmp_path, workers=2) as url:
        yield url


def test_metrics_are_summed_over_gunicorns_workers(gunicorn: str) -> None:
    twilio = SimulatedTwilio(HttpTransport(gunicorn), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)
    try:
        for i in range(8):
            twilio.dial(f"+1415555070{i}", SUPPORT_NUMBER)
    finally:
        twilio.close()
    # Each scrape reaches one worker or the other; every one tells the whole story.
    for _ in range(6):
        text = requests.get(f"{gunicorn}/metrics", timeout=5).text
        assert value(text, "qa_calls_total", queue="support") == 8
        assert value(text, "qa_queue_depth", queue="support") == 8
        assert value(text, "qa_webhook_seconds_count", route="incoming") == 8
        assert "1415555070" not in text
