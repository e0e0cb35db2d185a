"""The app's JSON log lines: keyed by call and queue, numbers masked to two digits."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from app.logs import JsonFormatter, about_call, mask
from standin import SimulatedTwilio
from tests.conftest import SUPPORT_NUMBER


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("from +14155550101", "from *01"),
        ("account 10234567 locked", "account *67 locked"),
        ("call +1 (415) 555-0101 now", "call *01 now"),
        ("เบอร์ ๐๘๑๒๓๔๕๖๗๘", "เบอร์ *๗๘"),
        ("call CA0123456789abcdef0123456789abcdef", "call CA0123456789abcdef0123456789abcdef"),
        ("ticket 42 after 125 s on port 8000", "ticket 42 after 125 s on port 8000"),
    ],
)
def test_numbers_keep_only_their_last_two_digits(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    app_log = logging.getLogger("app")
    app_log.addHandler(handler)
    old = app_log.level
    app_log.setLevel(logging.INFO)
    try:
        yield out
    finally:
        app_log.removeHandler(handler)
        app_log.setLevel(old)


def test_a_line_is_json_with_its_call_and_queue(json_lines: io.StringIO) -> None:
    with about_call("CA" + "1" * 32, "support"):
        logging.getLogger("app.example").warning("caller %s dropped", "+14155550101")
    try:
        raise ValueError("bad number +14155550101")
    except ValueError:
        logging.getLogger("app.example").exception("outside any call")
    first, second = (json.loads(line) for line in json_lines.getvalue().splitlines())
    assert first["msg"] == "caller *01 dropped"
    assert (first["call_sid"], first["queue"], first["level"]) == (
        "CA" + "1" * 32,
        "support",
        "WARNING",
    )
    assert "call_sid" not in second and "+14155550101" not in second["exc"]


def test_every_webhook_line_names_its_call_and_queue(
    twilio: SimulatedTwilio, json_lines: io.StringIO
) -> None:
    call = twilio.dial("+14155550101", SUPPORT_NUMBER)
    call.stay_silent()
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    mine = [line for line in lines if line.get("call_sid") == call.sid]
    assert mine and all(line["queue"] == "support" for line in mine)
    assert "+14155550101" not in json_lines.getvalue()


def test_gunicorns_own_logs_are_json_lines_too() -> None:
    """The Procfile's `-c python:app.gunicorn_config`: gunicorn's access and error logs."""
    import logging.config

    from app import gunicorn_config

    out = io.StringIO()
    config = dict(gunicorn_config.logconfig_dict)
    config["handlers"] = {"stderr": config["handlers"]["stderr"] | {"stream": out}}
    config.pop("root")  # pytest's own handlers stay on the root logger
    logging.config.dictConfig(config)
    try:
        logging.getLogger("gunicorn.access").info('127.0.0.1 "POST /voice/wait HTTP/1.1" 200')
        logging.getLogger("gunicorn.error").info("Booting worker with pid: 4242")
    finally:
        for name in ("gunicorn.access", "gunicorn.error"):
            logging.getLogger(name).handlers.clear()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["gunicorn.access", "gunicorn.error"]
    assert lines[0]["msg"] == '127.0.0.1 "POST /voice/wait HTTP/1.1" 200'
