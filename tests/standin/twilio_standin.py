"""Helpers for testing the Twilio stand-in over real HTTP both ways: any WSGI app on a free
loopback port, a small contact centre (a Flask app that checks Twilio's signature on every
request and answers Gather/Dial/Say TwiML, independent of the real app's hand-off code), and
twilio-python's own REST client pointed at the stand-in."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, Response, request
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from standin import SimulatedTwilio
from standin.phones import Phones
from standin.server import StandInServer
from standin.timing import Timing
from standin.transport import HttpTransport
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL
from tests.loopback import serving

CENTRE_NUMBER = "+15005550006"
MUSIC = "https://example.test/hold-music.mp3"
WAIT_SECONDS = 10.0  # bounded waits that fail clearly


@dataclass(frozen=True)
class Seen:
    """A request the contact centre received."""

    path: str  # with the query string
    form: dict[str, str]


def _response(*verbs: str) -> str:
    return "<Response>" + "".join(verbs) + "</Response>"


def dial_alice(action: str = "/voice/dial-result", **attrs: str) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return (
        f'<Dial action="{action}" timeout="10"{extra}>'
        '<Client url="/voice/whisper">alice</Client></Dial>'
    )


class ContactCentre:
    """The app's side in miniature. Every request must carry a valid X-Twilio-Signature
    over PUBLIC_BASE_URL (else 403); every request is recorded. `documents` maps a path to
    the TwiML it answers (a function of the form); `hold(path)` makes requests to a path
    wait until released."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.refused: list[str] = []
        self._cond = threading.Condition()
        self._holds: dict[str, threading.Event] = {}
        self._validator = RequestValidator(AUTH_TOKEN)
        self.documents: dict[str, Callable[[dict[str, str]], str]] = {
            "/voice/incoming": lambda form: _response(
                '<Gather input="speech dtmf" action="/voice/turn" numDigits="1" timeout="3">'
                "<Say>Welcome to the test centre.</Say></Gather>",
                "<Redirect>/voice/wait</Redirect>",
            ),
            "/voice/wait": lambda form: _response(
                '<Gather input="dtmf" action="/voice/turn" numDigits="1" timeout="2">'
                f"<Say>Still waiting.</Say><Play>{MUSIC}</Play></Gather>",
                "<Redirect>/voice/wait</Redirect>",
            ),
            "/voice/turn": self._turn,
            "/voice/agent": lambda form: _response("<Say>An agent is free.</Say>", dial_alice()),
            "/voice/whisper": lambda form: _response("<Say>Verified caller, Maria.</Say>"),
            "/voice/dial-result": self._dial_result,
            "/voice/moved": lambda form: _response(
                '<Gather input="dtmf" action="/voice/turn" timeout="5">'
                "<Say>You were moved.</Say></Gather>"
            ),
            "/voice/status": lambda form: "",
            "/voice/callback": lambda form: _response(
                '<Gather input="dtmf" action="/voice/turn" numDigits="1">'
                "<Say>This is the call back you asked for.</Say></Gather>"
            ),
        }
        self.app = Flask("contact_centre")
        self.app.add_url_rule("/voice/<path:name>", "voice", self._voice, methods=["GET", "POST"])

    @staticmethod
    def _turn(form: dict[str, str]) -> str:
        said = form.get("Digits") or form.get("SpeechResult", "")
        if said == "0" or "agent" in said:
            return _response("<Say>Connecting you.</Say>", dial_alice())
        if said == "9":
            return _response("<Say>Goodbye.</Say>", "<Hangup/>")
        return _response(
            f"<Say>You said {said or 'nothing'}.</Say>", "<Redirect>/voice/wait</Redirect>"
        )

    @staticmethod
    def _dial_result(form: dict[str, str]) -> str:
        if form["DialCallStatus"] == "completed":
            return _response("<Say>Thanks for calling. Goodbye.</Say>", "<Hangup/>")
        return _response("<Say>You are next in line.</Say>", "<Redirect>/voice/wait</Redirect>")

    def _voice(self, name: str) -> Response:
        query = request.query_string.decode()
        path = request.path + (f"?{query}" if query else "")
        # GET webhooks carry their parameters in the signed URL; POST ones in the body.
        form = request.form.to_dict() if request.method == "POST" else {}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self._validator.validate(PUBLIC_BASE_URL + path, form, signature):
            with self._cond:
                self.refused.append(path)
                self._cond.notify_all()
            return Response("forged", status=403)
        params = form or request.args.to_dict()
        with self._cond:
            self.seen.append(Seen(path, params))
            self._cond.notify_all()
            hold = self._holds.get(request.path)
        if hold is not None:
            hold.wait(WAIT_SECONDS)
        document = self.documents[request.path](params)
        if not document:
            return Response(status=204)
        return Response(document, mimetype="text/xml")

    def hold(self, path: str) -> threading.Event:
        """Requests to `path` wait until the returned event is set (bounded)."""
        event = threading.Event()
        self._holds[path] = event
        return event

    def requests_to(self, path: str) -> list[dict[str, str]]:
        with self._cond:
            return [s.form for s in self.seen if s.path.split("?")[0] == path]

    def wait_for(
        self, path: str, count: int = 1, timeout: float = WAIT_SECONDS
    ) -> list[dict[str, str]]:
        """The forms of the first `count` requests to `path`, waiting for them to arrive."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self.requests_to(path)) >= count, timeout)
        assert arrived, f"{count} request(s) to {path} expected; saw {[s.path for s in self.seen]}"
        return self.requests_to(path)[:count]

    def paths(self) -> list[str]:
        with self._cond:
            return [s.path for s in self.seen]


@contextmanager
def contact_centre() -> Iterator[tuple[ContactCentre, str]]:
    centre = ContactCentre()
    with serving(centre.app) as url:
        yield centre, url
    assert not centre.refused, f"requests with a bad signature: {centre.refused}"


def simulated_twilio(
    app_url: str, timing: Timing | None = None, phones: Phones | None = None
) -> SimulatedTwilio:
    return SimulatedTwilio(
        HttpTransport(app_url),
        PUBLIC_BASE_URL,
        AUTH_TOKEN,
        ACCOUNT_SID,
        timing=timing,
        phones=phones,
    )


@contextmanager
def stand_in(
    app_url: str, timing: Timing | None = None
) -> Iterator[tuple[SimulatedTwilio, StandInServer]]:
    """The stand-in (REST and control API) on a free loopback port, calling `app_url`."""
    twilio = simulated_twilio(app_url, timing)
    with StandInServer(twilio, app_url) as server:
        yield twilio, server


@contextmanager
def rest_client(base_url: str, auth_token: str = AUTH_TOKEN) -> Iterator[Client]:
    """twilio-python's Client pointed at the stand-in, exactly as the app points it:
    `client.api.base_url` is the domain every API 2010 URL is built from."""
    http = TwilioHttpClient(timeout=10)
    client = Client(ACCOUNT_SID, auth_token, http_client=http)
    client.api.base_url = base_url
    try:
        yield client
    finally:
        if http.session is not None:
            http.session.close()
