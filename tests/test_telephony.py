"""Every REST call the app makes to Twilio, checked byte for byte with `responses`: the exact
request each `Telephony` method sends (method, URL, form fields, basic auth, timeout) and
what it makes of each answer Twilio can give (Twilio's own error bodies): transient faults
tried again with jittered backoff, permanent ones raised at once and never retried.

`REST_CALLS` is the one table of what each method sends; tests/test_telephony_contract.py
replays the same table against Twilio's OpenAPI spec served by Prism.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from app.telephony import (
    OUTBOUND_EVENTS,
    REST_TIMEOUT_SECONDS,
    Backoff,
    OutboundCall,
    Telephony,
    TelephonyRejected,
    TelephonyUnavailable,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

TWILIO_API = "https://api.twilio.com"
CALL_SID = "CA0123456789abcdef0123456789abcdef"
TWIML_URL = "https://voice.example.test/voice/connect?agent=AG1&ticket=42"
CALL_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
CALLBACK = OutboundCall(
    to="+14155550101",
    from_="+15005550006",
    url="https://voice.example.test/voice/callback-answer?agent=bob&offer=7&queue=support&ticket=2",
    status_callback="https://voice.example.test/voice/callback-status?agent=bob&offer=7&queue=support&ticket=2",
    ring_seconds=30,
)
# Twilio's CallStatus values (the spec's call_enum_status; the contract test checks this).
CALL_STATUSES = (
    "queued",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
)


class _Unavailable:
    def __repr__(self) -> str:
        return "raises TelephonyUnavailable"


class _Rejected:
    def __repr__(self) -> str:
        return "raises TelephonyRejected"


# Expected results meaning "the method raises TelephonyUnavailable / TelephonyRejected".
UNAVAILABLE: Any = _Unavailable()
REJECTED: Any = _Rejected()


def call_resource(status: str = "in-progress") -> dict[str, Any]:
    """A Call resource as Twilio's API 2010 returns it (fetch and update answer with one)."""
    return {
        "account_sid": ACCOUNT_SID,
        "answered_by": None,
        "api_version": "2010-04-01",
        "caller_name": None,
        "date_created": "Wed, 25 Nov 2026 15:00:00 +0000",
        "date_updated": "Wed, 25 Nov 2026 15:04:10 +0000",
        "direction": "inbound",
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": "+14155550101",
        "from_formatted": "(415) 555-0101",
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": "PN0123456789abcdef0123456789abcdef",
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": CALL_SID,
        "start_time": "Wed, 25 Nov 2026 15:00:01 +0000",
        "status": status,
        "subresource_uris": {
            "notifications": CALL_PATH.replace(".json", "/Notifications.json"),
            "recordings": CALL_PATH.replace(".json", "/Recordings.json"),
        },
        "to": "+15005550006",
        "to_formatted": "(500) 555-0006",
        "trunk_sid": None,
        "uri": CALL_PATH,
    }


def calls_page(*calls: dict[str, Any]) -> dict[str, Any]:
    """A page of Twilio's list of calls (twilio-python reads `calls` and the paging)."""
    return {
        "calls": list(calls),
        "end": max(0, len(calls) - 1),
        "first_page_uri": CALLS_PATH + "?PageSize=20&Page=0",
        "next_page_uri": None,
        "page": 0,
        "page_size": 20,
        "previous_page_uri": None,
        "start": 0,
        "uri": CALLS_PATH + "?PageSize=20&Page=0",
    }


def twilio_error(status: int, code: int, message: str, **extra: Any) -> dict[str, Any]:
    """Twilio's API 2010 error body (twilio-python reads code and message from it)."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
        **extra,
    }


@dataclass(frozen=True)
class Answer:
    """One answer Twilio can give, and what the method must make of it."""

    label: str
    status: int
    body: dict[str, Any]
    result: Any  # the method's return value, or UNAVAILABLE / REJECTED


@dataclass(frozen=True)
class RestCall:
    """One `Telephony` method and the one request it must send to Twilio.

    To cover a new method (say `hang_up`, or `place_call` through Calls.json), add a row to
    REST_CALLS: how to call it, the request it must send, Twilio's success answer and what
    the method makes of it, what it returns when Twilio does not know the call, and any
    other answer with a meaning of its own. The request, answer and failure tests here and
    the Prism contract tests pick the row up.
    """

    name: str
    invoke: Callable[[Telephony], Any]
    http_method: str
    path: str  # after the API base URL; API 2010 resources end in .json
    form: dict[str, str | list[str]] | None  # the exact form body; None: no body
    success: Answer
    when_call_unknown: Any  # result for Twilio's 404 / 20404 (or UNAVAILABLE)
    other_answers: tuple[Answer, ...] = ()
    # Creating is not idempotent: before sending again after a transient fault the method
    # lists the calls (GET Calls.json) to find one its first request created.
    looks_before_retry: bool = False
    # Form fields Prism 5 misreads: it keeps only the last of a repeated key, so an array
    # sent as Twilio documents it (one parameter per value) fails its validation
    # (stoplightio/prism#2473). The contract test accepts Prism's 422 on these alone.
    prism_misreads: tuple[str, ...] = ()
    # Is this a result Twilio's acceptance can produce? (Prism answers with the spec's
    # examples, so the contract test cannot expect our values.)
    accepted: Callable[[Any], bool] = field(default=lambda result: True)

    @property
    def answers(self) -> tuple[Answer, ...]:
        unknown = Answer(
            "404-20404",
            404,
            twilio_error(404, 20404, f"The requested resource {self.path} was not found"),
            self.when_call_unknown,
        )
        return (self.success, unknown, *self.other_answers)


REST_CALLS = (
    RestCall(
        name="redirect",
        invoke=lambda telephony: telephony.redirect(CALL_SID, TWIML_URL),
        http_method="POST",
        path=CALL_PATH,
        form={"Url": TWIML_URL, "Method": "POST"},
        success=Answer("200", 200, call_resource("in-progress"), True),
        when_call_unknown=False,
        other_answers=(
            Answer(
                "400-21220-not-in-progress",
                400,
                twilio_error(400, 21220, "Call is not in-progress. Cannot redirect."),
                False,
            ),
            Answer(
                "400-21205-invalid-url",
                400,
                twilio_error(400, 21205, "Url is not a valid URL: " + TWIML_URL),
                REJECTED,
            ),
        ),
        accepted=lambda result: result is True,
    ),
    RestCall(
        name="call_status",
        invoke=lambda telephony: telephony.call_status(CALL_SID),
        http_method="GET",
        path=CALL_PATH,
        form=None,
        success=Answer("200", 200, call_resource("in-progress"), "in-progress"),
        when_call_unknown=None,
        other_answers=(
            Answer("200-completed", 200, call_resource("completed"), "completed"),
            Answer("200-no-answer", 200, call_resource("no-answer"), "no-answer"),
        ),
        accepted=lambda result: result in CALL_STATUSES,
    ),
    RestCall(
        name="place_call",
        invoke=lambda telephony: telephony.place_call(CALLBACK),
        http_method="POST",
        path=CALLS_PATH,
        form={
            "To": CALLBACK.to,
            "From": CALLBACK.from_,
            "Url": CALLBACK.url,
            "Method": "POST",
            "StatusCallback": CALLBACK.status_callback,
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": list(OUTBOUND_EVENTS),
            "Timeout": "30",
            "MachineDetection": "Enable",
        },
        success=Answer("201", 201, call_resource("queued"), CALL_SID),
        # A 404 on creating a call: a wrong account in the URL, not a call that ended.
        when_call_unknown=REJECTED,
        other_answers=(
            Answer(
                "400-21211-invalid-to",
                400,
                twilio_error(400, 21211, "Invalid 'To' Phone Number: +1415555010"),
                REJECTED,
            ),
            Answer(
                "400-21215-geo-permissions",
                400,
                twilio_error(400, 21215, "Account not authorized to call +1415555010"),
                REJECTED,
            ),
        ),
        looks_before_retry=True,
        prism_misreads=("StatusCallbackEvent",),
        accepted=lambda result: isinstance(result, str) and result.startswith("CA"),
    ),
    RestCall(
        name="hang_up",
        invoke=lambda telephony: telephony.hang_up(CALL_SID),
        http_method="POST",
        path=CALL_PATH,
        form={"Status": "completed"},
        success=Answer("200", 200, call_resource("completed"), True),
        when_call_unknown=False,
        accepted=lambda result: result is True,
    ),
)

# Answers that mean "Twilio could not do it now": every method tries again, then raises
# TelephonyUnavailable.
FAILURES: dict[str, dict[str, Any]] = {
    "500-20500": {
        "status": 500,
        "json": twilio_error(500, 20500, "An internal server error has occurred"),
    },
    "503-20503": {"status": 503, "json": twilio_error(503, 20503, "Service Unavailable")},
    "429-20429": {"status": 429, "json": twilio_error(429, 20429, "Too Many Requests")},
    "502-html-from-a-proxy": {
        "status": 502,
        "body": "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "content_type": "text/html",
    },
}
# Answers Twilio will give again however often it is asked: TelephonyRejected, at once.
REFUSALS: dict[str, dict[str, Any]] = {
    "401-20003": {
        "status": 401,
        "json": twilio_error(
            401, 20003, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
        ),
    },
    "403-20003": {"status": 403, "json": twilio_error(403, 20003, "Permission Denied")},
    "400-21205": {"status": 400, "json": twilio_error(400, 21205, "Url is not a valid URL")},
    "400-21211": {
        "status": 400,
        "json": twilio_error(400, 21211, "Invalid 'To' Phone Number: +1555"),
    },
}
# What `requests` raises when Twilio cannot be reached in time.
NETWORK_FAILURES: dict[str, Callable[[], Exception]] = {
    "connection-refused": lambda: requests.ConnectionError("[Errno 111] Connection refused"),
    "connect-timeout": lambda: requests.ConnectTimeout("connect timed out"),
    "read-timeout": lambda: requests.ReadTimeout("read timed out"),
}


def by_name(rest_calls: tuple[RestCall, ...] = REST_CALLS) -> list[Any]:
    return [pytest.param(rest_call, id=rest_call.name) for rest_call in rest_calls]


def each_answer() -> list[Any]:
    return [
        pytest.param(rest_call, answer, id=f"{rest_call.name}-{answer.label}")
        for rest_call in REST_CALLS
        for answer in rest_call.answers
    ]


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def form_fields(body: str | bytes | None) -> dict[str, list[str]]:
    if body is None:
        return {}
    text = body.decode() if isinstance(body, bytes) else body
    return parse_qs(text, keep_blank_values=True, strict_parsing=True)


def run(rest_call: RestCall, telephony: Telephony) -> Any:
    """The method's result, or UNAVAILABLE / REJECTED for what it raised."""
    try:
        return rest_call.invoke(telephony)
    except TelephonyUnavailable:
        return UNAVAILABLE
    except TelephonyRejected:
        return REJECTED


def no_sleep(_seconds: float) -> None:
    """Tests do not wait out the backoff (how long it would be is tested on its own)."""


@pytest.fixture
def twilio_api() -> Iterator[responses.RequestsMock]:
    """Twilio's REST API as `responses` plays it: every request must have been registered,
    and every registered answer must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def telephony() -> Telephony:
    return Telephony(ACCOUNT_SID, AUTH_TOKEN, TWILIO_API, sleep=no_sleep)


@pytest.mark.parametrize("rest_call", by_name())
def test_each_method_sends_exactly_the_documented_request(
    rest_call: RestCall, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    url = TWILIO_API + rest_call.path
    twilio_api.add(rest_call.http_method, url, json=rest_call.success.body, status=200)

    rest_call.invoke(telephony)

    assert len(twilio_api.calls) == 1, "one request, no retries"
    request = twilio_api.calls[0].request
    assert request.method == rest_call.http_method
    assert request.url == url  # the account SID in the path, .json, no query string
    assert urlsplit(request.url).path.startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/")
    assert request.headers["Authorization"] == basic_auth(ACCOUNT_SID, AUTH_TOKEN)
    assert request.headers["Accept"] == "application/json"
    if rest_call.form is None:
        assert not request.body
        assert "Content-Type" not in request.headers
    else:
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        # Exactly these fields, each once: nothing extra, nothing missing.
        assert form_fields(request.body) == {
            k: v if isinstance(v, list) else [v] for k, v in rest_call.form.items()
        }


@pytest.mark.parametrize("rest_call", by_name())
def test_each_method_waits_for_twilio_at_most_the_configured_timeout(
    rest_call: RestCall, twilio_api: responses.RequestsMock
) -> None:
    url = TWILIO_API + rest_call.path
    twilio_api.add(rest_call.http_method, url, json=rest_call.success.body)
    twilio_api.add(rest_call.http_method, url, json=rest_call.success.body)

    rest_call.invoke(Telephony(ACCOUNT_SID, AUTH_TOKEN, TWILIO_API))
    rest_call.invoke(Telephony(ACCOUNT_SID, AUTH_TOKEN, TWILIO_API, timeout=1.5))

    timeouts = [call.request.req_kwargs["timeout"] for call in twilio_api.calls]
    assert timeouts == [REST_TIMEOUT_SECONDS, 1.5]


@pytest.mark.parametrize("rest_call", by_name())
def test_each_method_uses_the_configured_api_base_url(
    rest_call: RestCall, twilio_api: responses.RequestsMock
) -> None:
    """TWILIO_API_BASE_URL points the app at a simulator or mock; a trailing slash is fine."""
    twilio_api.add(
        rest_call.http_method, "http://127.0.0.1:4010" + rest_call.path, json=rest_call.success.body
    )

    rest_call.invoke(Telephony(ACCOUNT_SID, AUTH_TOKEN, "http://127.0.0.1:4010/"))

    assert twilio_api.calls[0].request.url == "http://127.0.0.1:4010" + rest_call.path


@pytest.mark.parametrize(("rest_call", "answer"), each_answer())
def test_each_method_reads_twilios_answer(
    rest_call: RestCall, answer: Answer, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.add(
        rest_call.http_method, TWILIO_API + rest_call.path, json=answer.body, status=answer.status
    )

    assert run(rest_call, telephony) == answer.result


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("rest_call", by_name())
def test_twilio_failing_makes_each_method_raise_unavailable(
    rest_call: RestCall, failure: str, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.add(rest_call.http_method, TWILIO_API + rest_call.path, **FAILURES[failure])
    if rest_call.looks_before_retry:
        twilio_api.get(TWILIO_API + CALLS_PATH, **FAILURES[failure])

    with pytest.raises(TelephonyUnavailable) as raised:
        rest_call.invoke(telephony)

    assert str(FAILURES[failure]["status"]) in str(raised.value)
    assert AUTH_TOKEN not in str(raised.value)
    assert len(twilio_api.calls) == Backoff().tries


@pytest.mark.parametrize("refusal", list(REFUSALS))
@pytest.mark.parametrize("rest_call", by_name())
def test_twilio_refusing_makes_each_method_raise_rejected_without_a_retry(
    rest_call: RestCall, refusal: str, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.add(rest_call.http_method, TWILIO_API + rest_call.path, **REFUSALS[refusal])

    with pytest.raises(TelephonyRejected) as raised:
        rest_call.invoke(telephony)

    assert raised.value.fault.code == refusal.split("-")[1]
    assert raised.value.fault.credentials == (refusal.split("-")[1] == "20003")
    assert AUTH_TOKEN not in str(raised.value)
    assert len(twilio_api.calls) == 1, "a permanent refusal is not retried"


@pytest.mark.parametrize("rest_call", by_name())
def test_a_transient_fault_then_success_is_the_success(
    rest_call: RestCall, twilio_api: responses.RequestsMock
) -> None:
    url = TWILIO_API + rest_call.path
    twilio_api.add(rest_call.http_method, url, **FAILURES["503-20503"])
    twilio_api.add(rest_call.http_method, url, body=requests.ReadTimeout("read timed out"))
    twilio_api.add(rest_call.http_method, url, json=rest_call.success.body)
    if rest_call.looks_before_retry:
        twilio_api.get(TWILIO_API + CALLS_PATH, json=calls_page())  # nothing was created
    slept: list[float] = []
    telephony = Telephony(
        ACCOUNT_SID, AUTH_TOKEN, TWILIO_API, backoff=Backoff(tries=3), sleep=slept.append
    )

    assert rest_call.invoke(telephony) == rest_call.success.result
    sent = [call for call in twilio_api.calls if call.request.method == rest_call.http_method]
    assert len(sent) == 3
    assert len(slept) == 2


def test_backoff_grows_exponentially_to_its_cap_with_full_jitter() -> None:
    backoff = Backoff(tries=6, base_seconds=0.2, cap_seconds=1.0)

    assert [backoff.delay(n, rand=lambda: 1.0) for n in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert [backoff.delay(n, rand=lambda: 0.5) for n in range(3)] == [0.1, 0.2, 0.4]
    assert backoff.delay(3, rand=lambda: 0.0) == 0.0


@pytest.mark.parametrize("failure", list(NETWORK_FAILURES))
@pytest.mark.parametrize("rest_call", by_name())
def test_twilio_unreachable_makes_each_method_raise_unavailable(
    rest_call: RestCall, failure: str, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.add(
        rest_call.http_method, TWILIO_API + rest_call.path, body=NETWORK_FAILURES[failure]()
    )

    with pytest.raises(TelephonyUnavailable):
        rest_call.invoke(telephony)


@pytest.mark.parametrize("rest_call", by_name())
def test_a_success_that_is_not_json_makes_each_method_raise_unavailable(
    rest_call: RestCall, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.add(
        rest_call.http_method,
        TWILIO_API + rest_call.path,
        status=rest_call.success.status,
        body="<html><body>Please log in to continue</body></html>",
        content_type="text/html",
    )

    with pytest.raises(TelephonyUnavailable):
        rest_call.invoke(telephony)


@pytest.mark.parametrize("rest_call", by_name())
def test_twilio_region_and_edge_in_the_environment_do_not_move_the_api_base_url(
    rest_call: RestCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as twilio_api:
        twilio_api.add(
            rest_call.http_method,
            "http://127.0.0.1:4010" + rest_call.path,
            json=rest_call.success.body,
        )
        run(rest_call, Telephony(ACCOUNT_SID, AUTH_TOKEN, "http://127.0.0.1:4010"))

        assert [call.request.url for call in twilio_api.calls] == [
            "http://127.0.0.1:4010" + rest_call.path
        ]


@pytest.mark.parametrize("status", CALL_STATUSES)
def test_call_status_is_twilios_status_word_for_word(
    status: str, twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.get(TWILIO_API + CALL_PATH, json=call_resource(status))

    assert telephony.call_status(CALL_SID) == status


def test_an_unknown_call_is_none_even_when_the_404_is_not_twilios_json(
    twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.get(TWILIO_API + CALL_PATH, status=404, body="Not Found", content_type="text/plain")

    assert telephony.call_status(CALL_SID) is None


def test_a_redirect_of_a_call_twilio_does_not_know_is_logged_not_raised(
    twilio_api: responses.RequestsMock, telephony: Telephony, caplog: pytest.LogCaptureFixture
) -> None:
    twilio_api.post(
        TWILIO_API + CALL_PATH,
        status=404,
        json=twilio_error(404, 20404, f"The requested resource {CALL_PATH} was not found"),
    )

    with caplog.at_level("INFO", logger="app.telephony"):
        assert telephony.redirect(CALL_SID, TWIML_URL) is False

    assert CALL_SID in caplog.text
    assert AUTH_TOKEN not in caplog.text


def created_call(sid: str, created: str) -> dict[str, Any]:
    return call_resource("queued") | {"sid": sid, "to": CALLBACK.to, "date_created": created}


def test_a_callback_placed_despite_a_fault_is_taken_not_placed_twice(
    twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    """The first request timed out after Twilio created the call: the list shows it, so the
    caller is not rung a second time."""
    twilio_api.post(TWILIO_API + CALLS_PATH, body=requests.ReadTimeout("read timed out"))
    older = created_call("CA" + "1" * 32, "Mon, 01 Jan 2024 10:00:00 +0000")
    new = created_call("CA" + "2" * 32, format_datetime(datetime.now(UTC), usegmt=True))
    twilio_api.get(TWILIO_API + CALLS_PATH, json=calls_page(new, older))

    assert telephony.place_call(CALLBACK) == "CA" + "2" * 32
    assert [c.request.method for c in twilio_api.calls] == ["POST", "GET"]
    query = parse_qs(urlsplit(twilio_api.calls[1].request.url).query)
    assert (query["To"], query["From"]) == ([CALLBACK.to], [CALLBACK.from_])


def test_an_older_call_to_the_same_number_is_not_taken_for_this_one(
    twilio_api: responses.RequestsMock, telephony: Telephony
) -> None:
    twilio_api.post(TWILIO_API + CALLS_PATH, status=503, json=twilio_error(503, 20503, "down"))
    twilio_api.post(TWILIO_API + CALLS_PATH, status=201, json=call_resource("queued"))
    older = created_call("CA" + "1" * 32, "Mon, 01 Jan 2024 10:00:00 +0000")
    twilio_api.get(TWILIO_API + CALLS_PATH, json=calls_page(older))

    assert telephony.place_call(CALLBACK) == CALL_SID
    assert [c.request.method for c in twilio_api.calls] == ["POST", "GET", "POST"]
