"""The wait-loop benchmark's bare reference: the least a wait-loop webhook can do, on the
same stack (Flask, gunicorn, redis-py). One Lua script per poll finds the caller's place and
notes that they were heard of; the answer is a TwiML string with the people ahead, music and
the way back. It checks no signature and keeps no record beyond the line, so it is a floor,
not a product: the app is measured against it in the same run.

gunicorn runs it as `bench.bare_poll_app:create_app()` with BARE_REDIS_URL set."""

from __future__ import annotations

import os
import time

import redis
from flask import Flask, Response, request

LINE_KEY = "bare:line"
SEEN_KEY = "bare:seen"

# The place (0-based) of ARGV[1] in the line, noting when it was heard of; -1 if not in it.
POSITION_SCRIPT = """
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return -1 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
return rank
"""

ANSWER = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    "<Say>There are {ahead} people ahead of you.</Say>"
    '<Play>https://example.com/hold.mp3</Play><Redirect method="POST">/voice/wait</Redirect>'
    "</Response>"
)


def caller_key(call_sid: str) -> str:
    return f"bare:call:{call_sid}"


def seed(client: redis.Redis, call_sids: list[str], now: float) -> None:
    """The line: each caller's place, when they were last heard of, and their numbers."""
    pipe = client.pipeline(transaction=False)
    for ticket, sid in enumerate(call_sids, start=1):
        pipe.zadd(LINE_KEY, {sid: ticket})
        pipe.zadd(SEEN_KEY, {sid: now})
        pipe.hset(
            caller_key(sid),
            mapping={"from": f"+1202{ticket:07d}", "to": "+15005550006", "joined": repr(now)},
        )
    pipe.execute()


def create_app() -> Flask:
    app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["BARE_REDIS_URL"])
    position = client.register_script(POSITION_SCRIPT)

    @app.post("/voice/wait")
    def wait() -> Response:
        ahead = position(keys=[LINE_KEY, SEEN_KEY], args=[request.form["CallSid"], time.time()])
        return Response(ANSWER.format(ahead=ahead), mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app
