"""Every REST call the app makes, checked against Twilio's own OpenAPI spec for API 2010
(from @twilio/cli-core), served by Prism: a schema-checked stand-in for api.twilio.com.

Prism checks each request against the spec and answers 422 (401 without basic auth, 415
for a body that is not form-encoded, 404 for a path the spec lacks) when it does not fit;
otherwise it answers with the spec's example. It keeps no state and checks no credentials.
Prism is installed by scripts/prism-install (scripts/test runs it first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.telephony import LIVE_STATUSES, Telephony
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.prism_mock import PrismInstall, PrismUnavailable, find_install, prism_base_url
from tests.test_telephony import (
    CALL_PATH,
    CALL_SID,
    CALL_STATUSES,
    REJECTED,
    REST_CALLS,
    TWIML_URL,
    RestCall,
    by_name,
    run,
)

CALL_PATH_TEMPLATE = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prism serving Twilio's API 2010 spec (the same lines can move to conftest.py)."""
    yield from prism_base_url(tmp_path_factory)


@pytest.fixture(scope="session")
def twilio_spec() -> dict[str, Any]:
    try:
        install: PrismInstall = find_install()
    except PrismUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    return json.loads(install.spec.read_text())


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    body: str

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status} {self.body[:600]}"


class Wire:
    """What twilio-python sends through TwilioHttpClient in one test and what Prism
    answers, so a failing test shows Prism's validation messages; optionally adds headers
    (Prism's `Prefer: code=404`) to every request."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.extra_headers: dict[str, str] = {}

    def __str__(self) -> str:
        return "\n".join(str(exchange) for exchange in self.exchanges) or "(no request)"


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire()
    send = TwilioHttpClient.request

    def request(self: TwilioHttpClient, method: str, url: str, **kwargs: Any) -> Any:
        kwargs["headers"] = (kwargs.get("headers") or {}) | wire.extra_headers
        response = send(self, method, url, **kwargs)
        wire.exchanges.append(Exchange(method, url, response.status_code, response.text))
        return response

    monkeypatch.setattr(TwilioHttpClient, "request", request)
    return wire


@pytest.fixture
def telephony(prism_url: str) -> Telephony:
    return Telephony(ACCOUNT_SID, AUTH_TOKEN, prism_url)


@pytest.fixture
def twilio_client(prism_url: str) -> Iterator[Client]:
    """twilio-python's own client pointed at Prism, for requests the app never makes."""
    http_client = TwilioHttpClient(timeout=10)
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
    client.api.base_url = prism_url
    yield client
    http_client.session.close()


# The spec itself: the paths, auth and values the app and the tests rely on.


def test_the_spec_serves_calls_where_twilio_python_sends_them(twilio_spec: dict[str, Any]) -> None:
    operations = twilio_spec["paths"][CALL_PATH_TEMPLATE]
    assert {"get", "post"} <= operations.keys()
    assert operations["servers"] == [{"url": "https://api.twilio.com"}]
    assert Client(ACCOUNT_SID, AUTH_TOKEN).api.base_url == "https://api.twilio.com"
    assert twilio_spec["components"]["securitySchemes"]["accountSid_authToken"] == {
        "type": "http",
        "scheme": "basic",
    }
    for rest_call in REST_CALLS:
        operation = twilio_spec["paths"][path_template(rest_call.path)]
        assert operation[rest_call.http_method.lower()]["security"] == [
            {"accountSid_authToken": []}
        ]


def test_the_call_statuses_the_app_knows_are_the_specs(twilio_spec: dict[str, Any]) -> None:
    statuses = twilio_spec["components"]["schemas"]["call_enum_status"]["enum"]
    assert sorted(statuses) == sorted(CALL_STATUSES)
    assert set(statuses) >= LIVE_STATUSES


def test_the_form_fields_each_method_sends_are_in_the_spec(twilio_spec: dict[str, Any]) -> None:
    """Prism ignores form fields the spec does not name, so check the names here."""
    for rest_call in REST_CALLS:
        if rest_call.form is None:
            continue
        operation = twilio_spec["paths"][path_template(rest_call.path)]
        body = operation[rest_call.http_method.lower()]["requestBody"]["content"]
        schema = body["application/x-www-form-urlencoded"]["schema"]
        assert set(rest_call.form) <= schema["properties"].keys(), rest_call.name
        assert set(schema.get("required", [])) <= set(rest_call.form), rest_call.name


# Each Telephony method against the spec.


@pytest.mark.parametrize("rest_call", by_name())
def test_prism_accepts_each_request_the_app_sends(
    rest_call: RestCall, telephony: Telephony, wire: Wire
) -> None:
    result = run(rest_call, telephony)

    assert len(wire.exchanges) == 1, str(wire)
    exchange = wire.exchanges[0]
    if rest_call.prism_misreads and exchange.status == 422:
        misread = {tuple(v["location"]) for v in json.loads(exchange.body)["validation"]}
        assert misread <= {("body", name) for name in rest_call.prism_misreads}, str(wire)
        return
    assert exchange.status in (200, 201, 204), str(wire)
    assert exchange.url.endswith(rest_call.path)
    assert rest_call.accepted(result), f"{rest_call.name} gave {result!r}:\n{wire}"


@pytest.mark.parametrize("rest_call", by_name())
def test_each_method_reads_a_404_from_prism_as_an_unknown_call(
    rest_call: RestCall, telephony: Telephony, wire: Wire
) -> None:
    """The spec defines no error answers, so `Prefer: code=404` gets Prism's own
    problem+json 404 (no Twilio error code in it): the HTTP status alone must do."""
    if rest_call.prism_misreads:
        pytest.skip("Prism refuses the request before answering 404 (see prism_misreads)")
    wire.extra_headers["Prefer"] = "code=404"

    result = run(rest_call, telephony)

    assert [exchange.status for exchange in wire.exchanges] == [404], str(wire)
    assert "Requested status code 404 is not defined" in wire.exchanges[0].body
    assert result == rest_call.when_call_unknown


@pytest.mark.parametrize("rest_call", by_name())
def test_a_request_prism_rejects_makes_each_method_raise_rejected(
    rest_call: RestCall, prism_url: str, wire: Wire
) -> None:
    """An account SID that breaks the spec's pattern gets Prism's 422: the method must not
    take it for success or for an unknown call."""
    telephony = Telephony("AC-not-an-account-sid", AUTH_TOKEN, prism_url)

    assert run(rest_call, telephony) is REJECTED
    assert [exchange.status for exchange in wire.exchanges] == [422], str(wire)
    assert "Request path parameter accountsid must match pattern" in wire.exchanges[0].body


# Prism really checks: requests that break the spec are refused.


def test_prism_refuses_a_redirect_with_a_method_the_spec_does_not_allow(
    twilio_client: Client, wire: Wire
) -> None:
    with pytest.raises(TwilioRestException) as refused:
        twilio_client.calls(CALL_SID).update(url=TWIML_URL, method="PUT")

    assert refused.value.status == 422
    assert validation_messages(wire) == [
        "Request body property Method must be equal to one of the allowed values: GET, POST"
    ]


def test_prism_refuses_a_redirect_to_something_that_is_not_a_url(
    twilio_client: Client, wire: Wire
) -> None:
    with pytest.raises(TwilioRestException) as refused:
        twilio_client.calls(CALL_SID).update(url="voice/connect", method="POST")

    assert refused.value.status == 422
    assert validation_messages(wire) == ['Request body property Url must match format "uri"']


def test_prism_refuses_a_call_placed_without_from(twilio_client: Client, wire: Wire) -> None:
    with pytest.raises(TwilioRestException) as refused:
        twilio_client.calls.create(to="+15005550006", from_=values.unset, url=TWIML_URL)

    assert refused.value.status == 422
    assert validation_messages(wire) == ["Request body must have required property 'From'"]


def test_prism_accepts_a_call_placed_with_to_from_and_url(twilio_client: Client) -> None:
    """The positive control for the refusal above (and the shape a `place_call` will send)."""
    call = twilio_client.calls.create(
        to="+15005550006", from_="+15005550001", url=TWIML_URL, method="POST"
    )

    assert call.sid.startswith("CA")


def test_prism_refuses_a_request_without_basic_auth(prism_url: str) -> None:
    """Prism checks that HTTP basic credentials are there, not what they are."""
    url = prism_url + CALL_PATH
    with requests.Session() as session:
        anonymous = session.get(url, timeout=10)
        bearer = session.get(url, headers={"Authorization": "Bearer x"}, timeout=10)
        any_credentials = session.get(url, auth=("someone", "anything"), timeout=10)

    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert bearer.status_code == 401
    assert any_credentials.status_code == 200


def test_prism_refuses_a_body_that_is_not_form_encoded(prism_url: str) -> None:
    with requests.Session() as session:
        answer = session.post(
            prism_url + CALL_PATH,
            json={"Url": TWIML_URL, "Method": "POST"},
            auth=(ACCOUNT_SID, AUTH_TOKEN),
            timeout=10,
        )

    assert answer.status_code == 415


def validation_messages(wire: Wire) -> list[str]:
    """The reasons Prism gave for refusing the one request of the test."""
    assert len(wire.exchanges) == 1, str(wire)
    problem = json.loads(wire.exchanges[0].body)
    assert problem["type"] == "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY"
    return [item["message"] for item in problem["validation"]]


def path_template(path: str) -> str:
    """/2010-04-01/Accounts/AC.../Calls/CA....json -> the spec's path with {AccountSid}..."""
    return path.replace(ACCOUNT_SID, "{AccountSid}", 1).replace(CALL_SID, "{Sid}", 1)
