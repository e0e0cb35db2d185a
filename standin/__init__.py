"""A local stand-in for Twilio: signs webhook requests as Twilio does, runs the TwiML it gets
back (Say, Play, Pause, Gather, Redirect, Hangup, Dial to agents with a whisper), serves the
part of Twilio's REST API the app uses, and lets people and scripts play the callers and the
agents' phones (`python -m standin serve | call | run`).

A development tool beside the product: it reaches the app only over HTTP, as Twilio does, and
never imports `app` (standin/ruff.toml). Tests and benchmarks use it through the names below.

Modules: `account` (the simulated account: signing, placing and keeping calls), `leg` (one
leg running TwiML), `gather` (the caller at a <Gather>), `dial` (a <Dial> and its bridge: the
interface between two legs), `outbound` (outbound ringing), `callbacks` (status callbacks),
`engine` (a leg as those parts see it), `work` (the work a leg's thread does), `line`
(states, events, errors, sids), `twiml` (parser), `phones` (how dialled phones answer),
`timing` (step or real time, timers), `transport` (HTTP to the app), `settings` (the
environment it reads), `rest` and `call_resource` (Twilio's REST API), `control` and `client`
(the control API and its client), `current` (the state the APIs' views reach), `server`
(serve), `interactive` (call), `scenario` (run).
"""

from standin.account import SimulatedTwilio
from standin.leg import MAX_STEPS_WITHOUT_INPUT, SimulatedCall
from standin.line import AppError, CallNotLive, Event, LineState, SimulatorError, new_call_sid
from standin.transport import FlaskClientTransport, HttpTransport, Transport

__all__ = [
    "MAX_STEPS_WITHOUT_INPUT",
    "AppError",
    "CallNotLive",
    "Event",
    "FlaskClientTransport",
    "HttpTransport",
    "LineState",
    "SimulatedCall",
    "SimulatedTwilio",
    "SimulatorError",
    "Transport",
    "new_call_sid",
]
