"""A local stand-in for Twilio: signs webhook requests as Twilio does, runs the TwiML it gets
back (Say, Play, Pause, Gather, Redirect, Hangup, Dial to agents with a whisper), serves the
part of Twilio's REST API the app uses, and lets people and scripts play the callers and the
agents' phones (`python -m standin serve | call | run`).

Modules: `twiml` (parser), `call` (a call's state machine and the simulated account),
`phones` (how dialled phones answer), `timing` (step or real time, timers), `transport`
(HTTP to the app), `rest` and `call_resource` (Twilio's REST API), `control` and `client` (the
control API and its client), `server` (serve), `interactive` (call), `scenario` (run).
"""
