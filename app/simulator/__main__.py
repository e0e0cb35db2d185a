"""`python -m app.simulator`: place simulated calls at a running app, as Twilio would.

    python -m app.simulator call [--from +14155550101] [--to +15005550006]
        an interactive caller: type words to say them, digits (e.g. 10234567#) to press
        them, an empty line to stay silent, /hangup to hang up.
    python -m app.simulator run demo/scenarios/*.yml
        scripted callers with expectations; exit status 1 when one fails.

Requests are signed with TWILIO_AUTH_TOKEN over PUBLIC_BASE_URL (from the environment or
.env, as the app reads them), so the app checks them exactly as it checks Twilio's.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from app.settings import SettingsError, load_settings
from app.simulator.call import HttpTransport, SimulatedCall, SimulatedTwilio, SimulatorError
from app.simulator.scenario import ScenarioError, ScenarioRunner, load_scenario

_KEYS = re.compile(r"^[0-9*#]+$")


def _twilio(app_address: str | None) -> SimulatedTwilio:
    settings = load_settings()
    address = app_address or f"http://127.0.0.1:{settings.port}"
    return SimulatedTwilio(
        HttpTransport(address), settings.base_url, settings.auth_token, settings.account_sid
    )


def _print_new(call: SimulatedCall, start: int, played: int) -> None:
    for text in call.heard[start:]:
        print(f"  assistant: {text}")
    if len(call.played) > played:
        print("  (hold music)")


def _listening(call: SimulatedCall) -> str:
    if call.ended:
        return "call ended"
    if call.gather is None:
        return "not listening"
    kinds = {"speech": "words", "dtmf": "keys"}
    return "listening for " + " and ".join(
        kinds[k] for k in sorted(call.gather.input, reverse=True)
    )


def interactive(twilio: SimulatedTwilio, from_: str, to: str) -> int:
    call = twilio.dial(from_, to)
    print(f"call {call.sid} from {from_} to {to}")
    _print_new(call, 0, 0)
    while not call.ended:
        try:
            line = input(f"[{_listening(call)}] > ").strip()
        except EOFError:
            line = "/hangup"
        start, played = len(call.heard), len(call.played)
        try:
            if line == "/hangup":
                call.hang_up()
                print("  (you hung up)")
                break
            if not line:
                call.stay_silent()
            elif _KEYS.match(line):
                call.press(line)
            else:
                call.say(line)
        except SimulatorError as exc:
            print(f"  ! {exc}")
            continue
        _print_new(call, start, played)
    return 0


def run_scenarios(twilio: SimulatedTwilio, paths: list[Path]) -> int:
    failures = 0
    for path in paths:
        try:
            ScenarioRunner(twilio).run(load_scenario(path))
            print(f"PASS {path}")
        except ScenarioError as exc:
            failures += 1
            print(f"FAIL {path}: {exc}")
    print(f"{len(paths) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.simulator", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--app", help="where the web app listens (default http://127.0.0.1:$PORT)")
    commands = parser.add_subparsers(dest="command", required=True)
    call = commands.add_parser("call", help="an interactive caller")
    call.add_argument("--from", dest="from_", default="+14155550101")
    call.add_argument("--to", default="+15005550006")
    run = commands.add_parser("run", help="scripted scenarios (YAML)")
    run.add_argument("scenarios", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        twilio = _twilio(args.app)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        if args.command == "call":
            return interactive(twilio, args.from_, args.to)
        return run_scenarios(twilio, args.scenarios)
    except SimulatorError as exc:
        print(f"the app did not answer as Twilio expects: {exc}", file=sys.stderr)
        return 1
    finally:
        twilio.close()


if __name__ == "__main__":
    sys.exit(main())
