"""`python -m standin`: a local stand-in for Twilio, and callers to put through it.

    python -m standin serve [--step] [--music-seconds 20] [--time-scale 1]
        Twilio's REST API (the part the app uses) and a control API for callers and agents'
        phones, on the loopback address TWILIO_API_BASE_URL names (e.g. http://127.0.0.1:8020).
        Webhooks go to the app (PUBLIC_BASE_URL when it is a loopback address, as in
        development; else http://127.0.0.1:$PORT; or --app), signed with TWILIO_AUTH_TOKEN
        over PUBLIC_BASE_URL, exactly as Twilio signs them.
    python -m standin call [--from +14155550101] [--to +15005550006]
        an interactive caller through the running stand-in: type words to say them, keys
        (e.g. 10234567#) to press them, an empty line to stay silent, /hangup, /drop.
    python -m standin run demo/scenarios/*.yml
        scripted callers and agents' phones with expectations, through the running stand-in
        (or --in-process: a stand-in of its own, for scenarios without hand-offs).

Exit status: 0 done (every scenario passed), 1 a scenario failed, 2 a usage or set-up
problem (settings, an invalid scenario file, the stand-in or the app not running).
Settings come from the environment or .env, as the app reads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from standin.client import ControlClient, ControlError, StandInUnavailable
from standin.interactive import interactive
from standin.scenario import Scenario, ScenarioError, ScenarioRunner, load_scenario
from standin.server import (
    StandInServer,
    build_twilio,
    default_app_address,
    is_loopback_url,
    serve,
)
from standin.settings import SettingsError, StandInSettings, load_settings
from standin.timing import Timing

USAGE_ERROR = 2


class SetupError(Exception):
    """Something to fix before calls can be placed; the message says what."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m standin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--app",
        help="where the web app listens (default PUBLIC_BASE_URL if it is a loopback "
        "address, else http://127.0.0.1:$PORT)",
    )
    parser.add_argument(
        "--stand-in", help="the running stand-in for call and run (default TWILIO_API_BASE_URL)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the Twilio stand-in")
    _timing_options(serve_cmd, realtime_default=True)

    call = commands.add_parser("call", help="an interactive caller")
    call.add_argument("--from", dest="from_", default="+14155550101")
    call.add_argument("--to", default="+15005550006")

    run = commands.add_parser("run", help="scripted scenarios (YAML)")
    run.add_argument("scenarios", nargs="+", type=Path)
    run.add_argument(
        "--in-process",
        action="store_true",
        help="start a stand-in inside this command (step mode unless --realtime); the app "
        "cannot move its calls, so only for scenarios without hand-offs",
    )
    _timing_options(run, realtime_default=False)
    return parser


def _timing_options(parser: argparse.ArgumentParser, realtime_default: bool) -> None:
    mode = parser.add_mutually_exclusive_group()
    default = " (the default)"
    mode.add_argument(
        "--step",
        dest="realtime",
        action="store_false",
        help="nothing takes time: a call waits at a Gather until a caller acts"
        + ("" if realtime_default else default),
    )
    mode.add_argument(
        "--realtime",
        dest="realtime",
        action="store_true",
        help="Gathers time out, Say, music and pauses last, phones ring for their time"
        + (default if realtime_default else ""),
    )
    parser.set_defaults(realtime=realtime_default)
    parser.add_argument("--music-seconds", type=float, default=20.0, help="how long a <Play> lasts")
    parser.add_argument("--speech-rate", type=float, default=2.5, help="<Say> words per second")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="real seconds per simulated second"
    )


def _timing(args: argparse.Namespace) -> Timing:
    if min(args.music_seconds, args.speech_rate, args.time_scale) <= 0:
        raise SetupError("--music-seconds, --speech-rate and --time-scale must be positive")
    return Timing(
        realtime=args.realtime,
        music_seconds=args.music_seconds,
        words_per_second=args.speech_rate,
        time_scale=args.time_scale,
    )


def _app_address(settings: StandInSettings, args: argparse.Namespace) -> str:
    address = (args.app or default_app_address(settings)).rstrip("/")
    if not is_loopback_url(address):
        raise SetupError(f"--app {address!r}: the simulator only calls loopback http addresses")
    return address


def _stand_in(settings: StandInSettings, args: argparse.Namespace) -> ControlClient:
    """A client of the running stand-in, after checking that it and the app answer."""
    url = (args.stand_in or settings.twilio_api_base_url).rstrip("/")
    if not is_loopback_url(url):
        raise SetupError(
            f"TWILIO_API_BASE_URL is {url!r}, not the local stand-in: set it to a loopback "
            "address such as http://127.0.0.1:8020 (scripts/run does in development) and "
            "start .venv/bin/python -m standin serve"
        )
    client = ControlClient(url)
    try:
        info = client.info()
    except (StandInUnavailable, ControlError) as exc:
        client.close()
        raise SetupError(str(exc)) from exc
    app = info["app"]
    if not app["reachable"]:
        client.close()
        raise SetupError(
            f"the stand-in at {url} is running but the app does not answer at "
            f"{app['address']} ({app['detail']}): start it with scripts/run"
        )
    return client


def _load_all(paths: list[Path]) -> list[tuple[Path, Scenario]]:
    loaded, problems = [], []
    for path in paths:
        try:
            loaded.append((path, load_scenario(path)))
        except ScenarioError as exc:
            problems.append(str(exc))
    if problems:
        raise SetupError("invalid scenario file(s):\n  " + "\n  ".join(problems))
    return loaded


def run_scenarios(client: ControlClient, scenarios: list[tuple[Path, Scenario]]) -> int:
    failures = 0
    for path, scenario in scenarios:
        try:
            ScenarioRunner(client).run(scenario)
            print(f"PASS {path}", flush=True)
        except ScenarioError as exc:
            failures += 1
            print(f"FAIL {path}: {exc}", flush=True)
    print(f"{len(scenarios) - failures} passed, {failures} failed")
    return 1 if failures else 0


def _run(args: argparse.Namespace, settings: StandInSettings) -> int:
    scenarios = _load_all(args.scenarios)
    if not args.in_process:
        with _stand_in(settings, args) as client:
            return run_scenarios(client, scenarios)
    app = _app_address(settings, args)
    with StandInServer(build_twilio(settings, app, _timing(args)), app) as server:
        own = argparse.Namespace(stand_in=server.url)
        with _stand_in(settings, own) as client:
            return run_scenarios(client, scenarios)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            return serve(settings, _app_address(settings, args), _timing(args))
        if args.command == "call":
            with _stand_in(settings, args) as client:
                return interactive(client, args.from_, args.to)
        return _run(args, settings)
    except (SettingsError, SetupError) as exc:
        print(exc, file=sys.stderr)
        return USAGE_ERROR
    except StandInUnavailable as exc:
        print(exc, file=sys.stderr)
        return USAGE_ERROR
    except ControlError as exc:
        print(f"the call could not go on: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
