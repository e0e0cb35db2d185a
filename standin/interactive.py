"""`python -m standin call`: a person on the phone, at a terminal, through a running
stand-in (`serve`).

What the caller hears is printed as it arrives, including what happens without them doing
anything: the app moving the call to an agent, the agent's phone ringing, the whisper the
agent heard, the two of them being connected, the agent hanging up. A line of words is said,
a line of keys (0-9, *, #) is pressed, an empty line is silence; `/hangup`, `/drop` (the line
drops), `/agent-hangup` (the agent puts the phone down), `/state`, `/help`. End of input
hangs up.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from standin.client import ControlClient, ControlError, RemoteCall, StandInUnavailable

if TYPE_CHECKING:
    from standin.control import CallView

KEYS = re.compile(r"^[0-9*#]+$")
POLL_SECONDS = 5.0
CATCH_UP_SECONDS = 30.0
HELP = (
    "  words: say them | keys (e.g. 10234567#): press them | empty line: stay silent\n"
    "  /hangup  /drop (the line drops)  /agent-hangup  /state  /help"
)


def describe(event: dict[str, Any]) -> str | None:
    """How an event reads to the person on the line; None for the ones they would not
    notice."""
    text = event.get("text", "")
    match event["kind"]:
        case "heard" if event.get("recorded"):
            return f"  assistant (recording): {text}"
        case "heard":
            return f"  assistant: {text}"
        case "played":
            return "  (hold music)"
        case "redirected":
            return "  (the app moved the call)"
        case "dialing":
            return f"  (ringing {text})"
        case "agent_answered":
            return f"  ({text} picked up and hears the whisper)"
        case "agent_heard":
            return f"  [{event.get('to', 'agent')} heard: {text}]"
        case "bridged":
            return f"  (you are talking to {text})"
        case "agent_hung_up":
            return f"  ({text} hung up)"
        case "dial_ended":
            return f"  (the call to {text})"
        case "keys_lost":
            return f"  (keys {text} went unheard: the prompt had finished)"
        case "error":
            return f"  ! {text}"
        case "ended":
            return f"  (call ended: {text})"
    return None


def listening(view: CallView) -> str:
    """The prompt: what the line is doing."""
    state = view["state"]
    if state == "listening":
        kinds = {"speech": "words", "dtmf": "keys"}
        heard = [kinds[k] for k in sorted(view["listening_for"], reverse=True) if k in kinds]
        return "listening for " + " and ".join(heard)
    if state == "with_agent":
        return f"with {view['with_agent']}"
    return {
        "ringing": "ringing an agent",
        "playing": "on hold",
        "fetching": "waiting for the app",
        "ended": "call ended",
    }.get(state, state)


class _Printer:
    """Prints the call's events as they happen, from its own thread and connection."""

    def __init__(self, base_url: str, sid: str, out: Callable[[str], None]) -> None:
        self._client = ControlClient(base_url)
        self._sid = sid
        self._out = out
        self._printed = 0
        self._done = False
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="caller-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._client.close()

    def catch_up(self, count: int) -> None:
        """Wait until the first `count` events have been printed (or printing stopped)."""
        with self._cond:
            self._cond.wait_for(lambda: self._printed >= count or self._done, CATCH_UP_SECONDS)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                body = self._client.events(self._sid, self._printed, POLL_SECONDS)
                for event in body["events"]:
                    line = describe(event)
                    if line:
                        self._out(line)
                with self._cond:
                    self._printed = body["next"]
                    self._cond.notify_all()
                if body["call"]["state"] == "ended":
                    if sys.stdin.isatty():
                        self._out("  (press Enter to finish)")
                    break
        except (StandInUnavailable, ControlError) as exc:
            self._out(f"  ! lost the stand-in: {exc}")
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()


def interactive(
    client: ControlClient,
    from_: str,
    to: str,
    read: Callable[[str], str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Place a call and play the caller from the terminal until the call ends."""

    def write(line: str) -> None:
        print(line, file=out, flush=True)

    if read is None:
        # Input from a file or a pipe is echoed, so the transcript reads like a session.
        echo = not sys.stdin.isatty()

        def read(prompt: str) -> str:
            line = input(prompt)
            if echo:
                print(line, flush=True)
            return line

    call = client.place_call(from_, to)
    write(f"call {call.sid} from {from_} to {to} (/help for help)")
    printer = _Printer(client.base_url, call.sid, write)
    printer.start()
    try:
        _converse(call, printer, read, write)
    finally:
        printer.stop()
    return 0


def _converse(
    call: RemoteCall, printer: _Printer, read: Callable[[str], str], write: Callable[[str], None]
) -> None:
    while True:
        printer.catch_up(call.view["events"])
        if call.ended:
            return
        try:
            line = read(f"[{listening(call.view)}] > ").strip()
        except (EOFError, KeyboardInterrupt):
            # End of input or Ctrl-C: hang up rather than leave the call looping on its own.
            write("")
            line = "/hangup"
        try:
            call.refresh()
            if call.ended:
                return
            match line:
                case "/hangup":
                    call.hang_up()
                    write("  (you hung up)")
                case "/drop":
                    call.drop()
                    write("  (the line dropped)")
                case "/agent-hangup":
                    call.agent_hang_up()
                case "/state":
                    write(f"  {listening(call.view)}; status {call.view['status']}")
                case "/help":
                    write(HELP)
                case "":
                    call.stay_silent()
                case _ if KEYS.match(line):
                    call.press(line)
                case _ if line.startswith("/"):
                    write(f"  ! unknown command {line} (/help)")
                case _:
                    call.say(line)
        except ControlError as exc:
            write(f"  ! {exc.message}")
