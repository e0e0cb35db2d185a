"""Scripted calls: YAML scenarios of callers who dial, speak, press keys, stay silent, hang up
and call back, and of agents' phones that answer (or not) and hang up, with expectations on
what was heard. They run against a running stand-in (`serve`) through its control API. A
failed expectation stops the run with the call's recent speech, so a scenario reads like a
test and fails like one.

    name: ...
    to: "+15005550006"          # the number callers dial unless a step says otherwise
    steps:
      - agent_phone: {endpoint: "client:alice", answer: after 1s}   # now | never | busy | failed
                                                       # | machine (any number: a customer's too)
      - dial: {call: maria, from: "+14155550101"}
      - say: {call: maria, text: "agent please"}      # press: {call, digits} / silence: maria
      - wait_for: {call: maria, state: with_agent, timeout: 30}
      - expect: {call: maria, with_agent: "client:alice", agent_heard: "verified"}
      - agent_hang_up: maria                           # hang_up: maria / drop: maria
      - call_back: maria                               # dial again from maria's number
      - called_back: {call: back, number: "+14155550101", timeout: 60}  # the app calls them
      - wait: 2
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from standin.client import ControlClient, ControlError, RemoteCall
from standin.phones import PhoneBehaviour, PhoneBehaviourError

E164 = Annotated[str, Field(pattern=r"^(\+[1-9]\d{6,14}|anonymous)$")]
Name = Annotated[str, Field(min_length=1, max_length=40, description="the caller's name")]
ENDPOINT = r"^(\+[1-9]\d{6,14}|client:[A-Za-z0-9_.@-]{1,256}|sips?:\S{3,256})$"
STATES = Literal["listening", "ringing", "with_agent", "playing", "ended"]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _CallStep(_Step):
    call: Name


class Dial(_CallStep):
    action: Literal["dial"]
    from_: E164 = Field(alias="from")
    to: E164 | None = None


class CallBack(_CallStep):
    """Dial again from the number of an earlier call of that name (a call back)."""

    action: Literal["call_back"]
    to: E164 | None = None


class Say(_CallStep):
    action: Literal["say"]
    text: str = Field(min_length=1, max_length=1000)
    confidence: float = Field(default=0.92, ge=0, le=1)


class Press(_CallStep):
    action: Literal["press"]
    digits: str = Field(pattern=r"^[0-9*#]{1,40}$")


class Silence(_CallStep):
    action: Literal["silence"]


class HangUp(_CallStep):
    action: Literal["hang_up"]


class Drop(_CallStep):
    """The line drops: to Twilio a hang-up like any other (status callback included)."""

    action: Literal["drop"]


class AgentHangUp(_CallStep):
    action: Literal["agent_hang_up"]


class WaitFor(_CallStep):
    action: Literal["wait_for"]
    state: STATES
    timeout: float = Field(default=30, gt=0, le=600)


class Expect(_CallStep):
    action: Literal["expect"]
    heard: str | None = Field(default=None, description="said since the caller's last action")
    not_heard: str | None = None
    listening: Literal["speech", "dtmf", "nothing"] | None = None
    ended: bool | None = None
    state: STATES | None = None
    with_agent: str | None = Field(default=None, pattern=ENDPOINT)
    agent_heard: str | None = Field(default=None, description="the latest agent's whisper")


class AgentPhone(_Step):
    action: Literal["agent_phone"]
    endpoint: str = Field(pattern=ENDPOINT)
    answer: str = "now"
    press: str | None = Field(default=None, pattern=r"^[0-9*#]{1,40}$")

    @field_validator("answer", mode="before")
    @classmethod
    def _answer(cls, value: Any) -> str:
        try:
            PhoneBehaviour.parse(str(value))
        except PhoneBehaviourError as exc:
            raise ValueError(str(exc)) from None
        return str(value)


class CalledBack(_Step):
    """Wait for the app to place its `nth` call to `number` (a callback, through the REST
    API) and name it, so later steps can press, expect and hang up on it."""

    action: Literal["called_back"]
    call: Name
    number: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    nth: int = Field(default=1, ge=1, le=20)
    timeout: float = Field(default=60, gt=0, le=3600)


class Wait(_Step):
    action: Literal["wait"]
    seconds: float = Field(gt=0, le=3600)


Step = Annotated[
    Dial
    | CallBack
    | Say
    | Press
    | Silence
    | HangUp
    | Drop
    | AgentHangUp
    | WaitFor
    | Expect
    | AgentPhone
    | CalledBack
    | Wait,
    Field(discriminator="action"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    to: E164 = Field(description="the number callers dial unless a step says otherwise")
    steps: list[Step] = Field(min_length=1)


class ScenarioError(Exception):
    """The scenario file is invalid, or an expectation failed."""


def load_scenario(path: Path) -> Scenario:
    """The scenario in `path`. Raises ScenarioError naming the file, and for a bad step its
    number, its action and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    try:
        scenario = Scenario.model_validate(_normalise(data))
    except ValidationError as exc:
        problems = "; ".join(_where(e["loc"], data) + e["msg"] for e in exc.errors())
        raise ScenarioError(f"{path}: {problems}") from exc
    _check_names(path, scenario)
    return scenario


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """`step 3 (press), digits: ` for a step's field; `to: ` for a top-level one."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps") if isinstance(data, dict) else None
        step = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
        action = next(iter(step), "?") if isinstance(step, dict) and len(step) == 1 else "?"
        fields = ".".join(str(p) for p in loc[3:])
        return f"step {loc[1] + 1} ({action}), " + (f"{fields}: " if fields else "")
    return ".".join(str(p) for p in loc) + ": " if loc else ""


def _check_names(path: Path, scenario: Scenario) -> None:
    """Every step that names a call comes after a dial of that name."""
    dialled: set[str] = set()
    for number, step in enumerate(scenario.steps, start=1):
        name = getattr(step, "call", None)
        if isinstance(step, Dial | CalledBack):
            dialled.add(step.call)
        elif name is not None and name not in dialled:
            raise ScenarioError(
                f"{path}: step {number} ({step.action}), call: no call named {name!r} "
                "has been dialled before this step"
            )


def _normalise(data: object) -> object:
    """Steps are written `- say: {call: maria, text: ...}` (or `- silence: maria`, or
    `- wait: 2`); give each its `action` so pydantic can tell them apart."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return data
    steps = []
    for step in data["steps"]:
        if isinstance(step, dict) and len(step) == 1:
            (action, body), *_ = step.items()
            if action == "wait" and isinstance(body, int | float):
                body = {"seconds": body}
            elif isinstance(body, str):
                body = {"call": body}
            elif not isinstance(body, dict):
                body = {} if body is None else {"value": body}
            steps.append({"action": action, **body})
        else:
            steps.append(step)
    return {**data, "steps": steps}


class ScenarioRunner:
    """Plays a scenario against a running stand-in through its control API."""

    def __init__(
        self,
        client: ControlClient,
        report: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._report = report
        self._sleep = sleep
        self.calls: dict[str, RemoteCall] = {}
        # Per call, where in its events the caller's last action began: expectations
        # look at what was said in answer to that action (and anything since).
        self._since: dict[str, int] = {}
        self._numbers: dict[str, tuple[str, str]] = {}
        self._placed: list[tuple[str, RemoteCall]] = []

    def run(self, scenario: Scenario) -> None:
        """Play every step; ScenarioError at the first that fails. Calls still on the line at
        the end (or after a failure) are hung up, so no caller is left in the queue."""
        self._report(f"scenario: {scenario.name}")
        try:
            for number, step in enumerate(scenario.steps, start=1):
                try:
                    self._step(scenario, step)
                except (ControlError, ScenarioError) as exc:
                    detail = exc.message if isinstance(exc, ControlError) else str(exc)
                    raise ScenarioError(f"step {number} ({step.action}): {detail}") from exc
        finally:
            self._hang_up_the_rest()

    def _hang_up_the_rest(self) -> None:
        for name, call in self._placed:
            try:
                call.refresh()
                if not call.ended:
                    call.hang_up()
                    self._report(f"  ({name} was still on the line: hung up)")
            except ControlError:
                pass

    def _call(self, name: str) -> RemoteCall:
        if name not in self.calls:
            raise ScenarioError(f"no call named {name!r} has been dialled")
        return self.calls[name]

    def _dial(self, name: str, from_: str, to: str, what: str) -> None:
        call = self._client.place_call(from_, to)
        self.calls[name] = call
        self._placed.append((name, call))
        self._numbers[name] = (from_, to)
        self._since[name] = 0
        self._report(f"  {name} {what} from {from_}")
        self._report_heard(call, 0)

    def _act(self, name: str, what: str, action: Callable[[RemoteCall], object]) -> None:
        call = self._call(name)
        call.refresh()
        mark = call.mark
        action(call)
        self._since[name] = mark
        self._report(f"  {name} {what}")
        self._report_heard(call, mark)

    def _report_heard(self, call: RemoteCall, mark: int) -> None:
        if heard := call.heard_since(mark):
            self._report(f"    heard: {heard}")
        if call.ended:
            self._report(f"    (call ended: {call.view['ended_reason']})")

    def _step(self, scenario: Scenario, step: Step) -> None:
        match step:
            case Dial():
                self._dial(step.call, step.from_, step.to or scenario.to, "dials")
            case CallBack():
                from_, to = self._numbers[step.call]
                self._dial(step.call, from_, step.to or to, "calls back")
            case Say():
                self._act(
                    step.call, f'says "{step.text}"', lambda c: c.say(step.text, step.confidence)
                )
            case Press():
                self._act(step.call, f"presses {step.digits}", lambda c: c.press(step.digits))
            case Silence():
                self._act(step.call, "stays silent", lambda c: c.stay_silent())
            case HangUp():
                self._act(step.call, "hangs up", lambda c: c.hang_up())
            case Drop():
                self._act(step.call, "drops (the line went dead)", lambda c: c.drop())
            case AgentHangUp():
                self._act(step.call, "is hung up on by the agent", lambda c: c.agent_hang_up())
            case WaitFor():
                self._wait_for(step)
            case AgentPhone():
                self._client.set_phone(step.endpoint, step.answer, step.press)
                press = f", pressing {step.press}" if step.press else ""
                self._report(f"  phone {step.endpoint} answers {step.answer}{press}")
            case CalledBack():
                self._called_back(step)
            case Wait():
                self._report(f"  waiting {step.seconds:g} s")
                self._sleep(step.seconds)
            case Expect():
                self._expect(step)

    def _called_back(self, step: CalledBack) -> None:
        deadline = time.monotonic() + step.timeout
        while True:
            placed = [
                view
                for view in self._client.calls()
                if view["direction"] == "outbound-api" and view["to"] == step.number
            ]
            if len(placed) >= step.nth:
                break
            if time.monotonic() > deadline:
                raise ScenarioError(
                    f"no call number {step.nth} to {step.number} within {step.timeout:g} s"
                )
            self._sleep(0.2)
        view = list(reversed(placed))[step.nth - 1]  # the list is newest first
        call = self._client.call(view["sid"])
        self.calls[step.call] = call
        self._since[step.call] = 0
        self._report(f"  {step.call}: the app calls {step.number} (call {step.nth})")
        self._report_heard(call, 0)

    def _wait_for(self, step: WaitFor) -> None:
        call = self._call(step.call)
        try:
            call.wait_for(step.state, step.timeout)
        except ControlError as exc:
            if exc.status != 408:
                raise
            raise ScenarioError(
                f"{step.call} did not become {step.state} within {step.timeout:g} s "
                f"(the call is {call.state}); heard: {call.heard_since(self._since[step.call])!r}"
            ) from exc
        self._report(f"  {step.call} is {step.state}")

    def _expect(self, step: Expect) -> None:
        call = self._call(step.call)
        call.refresh()
        recent = call.heard_since(self._since.get(step.call, 0))
        if step.heard is not None and step.heard.lower() not in recent.lower():
            raise ScenarioError(f"expected to hear {step.heard!r}; heard: {recent!r}")
        if step.not_heard is not None and step.not_heard.lower() in recent.lower():
            raise ScenarioError(f"did not expect to hear {step.not_heard!r}; heard: {recent!r}")
        if step.ended is not None and call.ended != step.ended:
            raise ScenarioError(
                f"expected the call {'to have' if step.ended else 'not to have'} ended "
                f"(it is {call.state})"
            )
        if step.state is not None and call.state != step.state:
            raise ScenarioError(f"expected the call to be {step.state}, not {call.state}")
        if step.listening is not None:
            kinds = call.listening_for
            listening = "speech" if "speech" in kinds else ("dtmf" if kinds else "nothing")
            if listening != step.listening:
                raise ScenarioError(
                    f"expected the line to listen for {step.listening}, not {listening} "
                    f"(the call is {call.state})"
                )
        if step.with_agent is not None and call.with_agent != step.with_agent:
            raise ScenarioError(
                f"expected the call to be with {step.with_agent}, not "
                f"{call.with_agent or 'no one'} (the call is {call.state})"
            )
        if step.agent_heard is not None:
            agent = call.agent
            whisper = " ".join(agent["heard"]) if agent else ""
            if step.agent_heard.lower() not in whisper.lower():
                who = agent["to"] if agent else "no agent"
                raise ScenarioError(
                    f"expected the agent to hear {step.agent_heard!r}; {who} heard: {whisper!r}"
                )
        checked = step.model_dump(exclude={"action", "call"}, exclude_none=True)
        self._report(f"  {step.call} ok: {checked}")
