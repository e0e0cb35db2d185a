"""The stand-in's state as its views reach it: the simulated account and the app's address,
kept on the Flask app by `init_app` and read during a request through `get_twilio()` and
`get_app_address()` (as Flask's tutorial reaches its database through `get_db()`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from standin.account import SimulatedTwilio

_EXTENSION = "twilio_standin"


@dataclass(frozen=True)
class _StandIn:
    twilio: SimulatedTwilio
    app_address: str


def init_app(app: Flask, twilio: SimulatedTwilio, app_address: str) -> None:
    app.extensions[_EXTENSION] = _StandIn(twilio, app_address)


def get_twilio() -> SimulatedTwilio:
    """The simulated account this stand-in serves."""
    return _stand_in().twilio


def get_app_address() -> str:
    """Where the app the stand-in sends webhooks to listens."""
    return _stand_in().app_address


def _stand_in() -> _StandIn:
    # Flask keeps extensions untyped; init_app put a _StandIn there.
    stand_in: _StandIn = current_app.extensions[_EXTENSION]
    return stand_in
