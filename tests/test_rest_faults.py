"""REST faults classified and recorded: transient ones worth a retry, permanent ones logged
once with their code and counted for the operator (real Redis)."""

from __future__ import annotations

import pytest
import redis
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from app.clock import Clock
from app.rest_faults import FaultKind, RestFaults, classify


def refusal(status: int, code: int | None, message: str = "refused") -> TwilioRestException:
    return TwilioRestException(status, "https://api.twilio.com/2010-04-01/x", message, code)


@pytest.mark.parametrize(
    ("exc", "kind", "code", "credentials"),
    [
        (refusal(429, 20429), FaultKind.TRANSIENT, "20429", False),
        (refusal(500, 20500), FaultKind.TRANSIENT, "20500", False),
        (refusal(503, None), FaultKind.TRANSIENT, "503", False),
        (requests.ReadTimeout("read timed out"), FaultKind.TRANSIENT, "timeout", False),
        (requests.ConnectionError("refused"), FaultKind.TRANSIENT, "ConnectionError", False),
        (TwilioException("no body"), FaultKind.TRANSIENT, "TwilioException", False),
        (ValueError("not JSON"), FaultKind.TRANSIENT, "ValueError", False),
        (refusal(401, 20003), FaultKind.PERMANENT, "20003", True),
        (refusal(403, 20003), FaultKind.PERMANENT, "20003", True),
        (refusal(401, None), FaultKind.PERMANENT, "401", True),
        (refusal(400, 21205), FaultKind.PERMANENT, "21205", False),
        (refusal(400, 21211), FaultKind.PERMANENT, "21211", False),
        (refusal(400, 21215), FaultKind.PERMANENT, "21215", False),
        (refusal(422, None), FaultKind.PERMANENT, "422", False),
    ],
    ids=str,
)
def test_classify(exc: BaseException, kind: FaultKind, code: str, credentials: bool) -> None:
    fault = classify(exc)
    assert (fault.kind, fault.code, fault.credentials) == (kind, code, credentials)


def test_something_else_is_not_a_rest_fault() -> None:
    with pytest.raises(TypeError):
        classify(KeyError("bug"))


def test_a_permanent_fault_is_logged_once_an_hour_and_counted_every_time(
    redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1_000.0]
    faults = RestFaults(redis_client, lambda: now[0])
    fault = classify(refusal(400, 21205, "Url is not a valid URL"))

    with caplog.at_level("WARNING", logger="app.rest_faults"):
        for _ in range(5):
            faults.record("redirect", fault)

    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "21205" in caplog.text
    [count] = faults.counts()
    assert (count.operation, count.kind, count.code, count.count) == (
        "redirect",
        "permanent",
        "21205",
        5,
    )
    assert count.last_at == 1_000.0
    assert "not a valid URL" in count.last_message


def test_faults_are_counted_apart_by_operation_kind_and_code(redis_client: redis.Redis) -> None:
    clock: Clock = lambda: 5.0  # noqa: E731
    faults = RestFaults(redis_client, clock)
    for _ in range(3):
        faults.record("redirect", classify(refusal(503, 20503)))
    faults.record("call status", classify(refusal(503, 20503)))
    faults.record("redirect", classify(refusal(401, 20003)))

    assert [(c.operation, c.kind, c.code, c.count) for c in faults.counts()] == [
        ("redirect", "transient", "20503", 3),
        ("call status", "transient", "20503", 1),
        ("redirect", "permanent", "20003", 1),
    ]


def test_credentials_refused_until_a_request_succeeds(redis_client: redis.Redis) -> None:
    faults = RestFaults(redis_client, lambda: 7.0)
    assert faults.credentials_refused() is None

    faults.record("redirect", classify(refusal(401, 20003)))
    assert faults.credentials_refused() == {"code": "20003", "at": 7.0}
    faults.record("redirect", classify(refusal(503, 20503)))
    assert faults.credentials_refused() is not None, "a transient fault says nothing of them"

    faults.succeeded()
    assert faults.credentials_refused() is None
