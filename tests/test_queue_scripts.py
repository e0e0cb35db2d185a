"""The contract between the queue's Lua scripts and Python: each script's "Returns:" header
and its reply type name the same fields, and a reply of the wrong shape is a clear error."""

from __future__ import annotations

import re

import pytest

from app import queue_scripts
from app.queue_scripts import (
    SCRIPT_NAMES,
    ConnectReply,
    PollReply,
    ScriptReplyError,
    SnapshotReply,
    TakeSlotReply,
    parse_reply,
)
from app.settings import QUEUE_DIR

# The reply type of each script, by the naming of queue_scripts (take_slot -> TakeSlotReply).
REPLY_TYPES = {
    name: getattr(queue_scripts, "".join(part.title() for part in name.split("_")) + "Reply")
    for name in SCRIPT_NAMES
}


def returns_header(script: str) -> list[str]:
    """The fields a script's header promises: `-- Returns: {a, b, c}` (or one value)."""
    lua = (QUEUE_DIR / f"{script}.lua").read_text(encoding="utf-8")
    header = re.search(r"^-- Returns: (.*)$", lua, re.MULTILINE)
    assert header is not None, f"{script}.lua has no Returns: header"
    listed = re.match(r"\{([^}]*)\}", header.group(1))
    return [f.strip() for f in listed.group(1).split(",")] if listed else ["(one value)"]


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_each_reply_type_has_the_fields_its_script_returns(script: str) -> None:
    promised = returns_header(script)
    fields = list(REPLY_TYPES[script]._fields)
    if promised == ["(one value)"]:
        assert len(fields) == 1
    else:
        assert fields == promised


def test_a_reply_is_converted_to_the_types_it_declares() -> None:
    reply = parse_reply(TakeSlotReply, [7, 2, b"restored", b"CA123", b"th-TH"])
    assert reply == TakeSlotReply(
        ticket=7, people_ahead=2, outcome="restored", previous_call_sid="CA123", language="th-TH"
    )
    assert parse_reply(ConnectReply, [b"connected", b"93.5"]).seconds_waited == 93.5
    snapshot = parse_reply(
        SnapshotReply,
        [3, 1, 1, 0, 1, [b'{"seconds": 60}'], b"{}", 0, b"{}", 1, b"1795618800", b"95.5", 2],
    )
    assert snapshot.handled_json_list == ['{"seconds": 60}']
    assert (snapshot.waited, snapshot.gone) == ("95.5", 2)
    polled = parse_reply(PollReply, [[b"waiting", 2, 3, 7, b"1795618700", b"", b"en-US"], b"12"])
    assert polled.position.people_ahead == 2 and polled.position.language == "en-US"
    assert polled.inputs == "12"


def test_a_reply_of_the_wrong_shape_is_a_clear_error() -> None:
    with pytest.raises(ScriptReplyError, match="TakeSlotReply expects"):
        parse_reply(TakeSlotReply, [7, 2, b"new"])
    with pytest.raises(ScriptReplyError, match="expected a list"):
        parse_reply(SnapshotReply, [3, 1, 1, 0, 1, b"not a list", b"{}", 0, b"{}", 1, b"", b"0", 0])
