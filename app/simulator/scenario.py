"""Scripted calls: YAML scenarios of callers who dial, speak, press keys, stay silent, hang up
and call back, with expectations on what they hear. A failed expectation stops the run with
the call's recent speech, so a scenario reads like a test and fails like one."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.simulator.call import SimulatedCall, SimulatedTwilio, SimulatorError

E164 = Annotated[str, Field(pattern=r"^(\+[1-9]\d{6,14}|anonymous)$")]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call: str = Field(min_length=1, max_length=40, description="the caller's name in the scenario")


class Dial(_Step):
    action: Literal["dial"]
    from_: E164 = Field(alias="from")
    to: E164 | None = None


class Say(_Step):
    action: Literal["say"]
    text: str = Field(min_length=1, max_length=1000)
    confidence: float = Field(default=0.92, ge=0, le=1)


class Press(_Step):
    action: Literal["press"]
    digits: str = Field(pattern=r"^[0-9*#]{1,40}$")


class Silence(_Step):
    action: Literal["silence"]


class HangUp(_Step):
    action: Literal["hang_up"]


class Expect(_Step):
    action: Literal["expect"]
    heard: str | None = Field(default=None, description="said since the caller's last action")
    not_heard: str | None = None
    listening: Literal["speech", "dtmf", "nothing"] | None = None
    ended: bool | None = None


class Wait(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["wait"]
    seconds: float = Field(gt=0, le=3600)


Step = Annotated[
    Dial | Say | Press | Silence | HangUp | Expect | Wait, Field(discriminator="action")
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    to: E164 = Field(description="the number callers dial unless a step says otherwise")
    steps: list[Step] = Field(min_length=1)


class ScenarioError(Exception):
    """The scenario file is invalid, or an expectation failed."""


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(_normalise(data))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from exc


def _normalise(data: object) -> object:
    """Steps are written `- say: {call: maria, text: ...}` (or `- silence: maria`); give
    each its `action` so pydantic can tell them apart."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return data
    steps = []
    for step in data["steps"]:
        if isinstance(step, dict) and len(step) == 1:
            (action, body), *_ = step.items()
            body = {"call": body} if isinstance(body, str) else dict(body or {})
            if action == "wait" and isinstance(step["wait"], int | float):
                body = {"seconds": step["wait"]}
            steps.append({"action": action, **body})
        else:
            steps.append(step)
    return {**data, "steps": steps}


class ScenarioRunner:
    """Plays a scenario against a running app through a simulated Twilio."""

    def __init__(
        self,
        twilio: SimulatedTwilio,
        report: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._twilio = twilio
        self._report = report
        self._sleep = sleep
        self.calls: dict[str, SimulatedCall] = {}
        # Per call, where in what it heard the caller's last action began: expectations
        # look at what was said in answer to that action.
        self._since: dict[str, int] = {}

    def run(self, scenario: Scenario) -> None:
        self._report(f"scenario: {scenario.name}")
        for number, step in enumerate(scenario.steps, start=1):
            try:
                self._step(scenario, step)
            except (SimulatorError, ScenarioError) as exc:
                raise ScenarioError(f"step {number} ({step.action}): {exc}") from exc

    def _call(self, name: str) -> SimulatedCall:
        if name not in self.calls:
            raise ScenarioError(f"no call named {name!r} has been dialled")
        return self.calls[name]

    def _act(self, name: str, what: str, action: Callable[[SimulatedCall], object]) -> None:
        call = self._call(name)
        start = len(call.heard)
        action(call)
        self._since[name] = start
        self._report(f"  {name} {what}")
        if heard := call.heard_since(start):
            self._report(f"    heard: {heard}")

    def _step(self, scenario: Scenario, step: Step) -> None:
        match step:
            case Dial():
                self.calls[step.call] = self._twilio.dial(step.from_, step.to or scenario.to)
                self._since[step.call] = 0
                self._report(f"  {step.call} dials from {step.from_}")
                self._report(f"    heard: {self.calls[step.call].heard_since(0)}")
            case Say():
                self._act(
                    step.call, f'says "{step.text}"', lambda c: c.say(step.text, step.confidence)
                )
            case Press():
                self._act(step.call, f"presses {step.digits}", lambda c: c.press(step.digits))
            case Silence():
                self._act(step.call, "stays silent", lambda c: c.stay_silent())
            case HangUp():
                status, _ = self._call(step.call).hang_up()
                self._report(f"  {step.call} hangs up (status callback: {status})")
            case Wait():
                self._report(f"  waiting {step.seconds:g} s")
                self._sleep(step.seconds)
            case Expect():
                self._expect(step)

    def _expect(self, step: Expect) -> None:
        call = self._call(step.call)
        recent = " ".join(call.heard[self._since.get(step.call, 0) :])
        if step.heard is not None and step.heard.lower() not in recent.lower():
            raise ScenarioError(f"expected to hear {step.heard!r}; heard: {recent!r}")
        if step.not_heard is not None and step.not_heard.lower() in recent.lower():
            raise ScenarioError(f"did not expect to hear {step.not_heard!r}; heard: {recent!r}")
        if step.ended is not None and call.ended != step.ended:
            raise ScenarioError(
                f"expected the call {'to have' if step.ended else 'not to have'} ended"
            )
        if step.listening is not None:
            listening = (
                "nothing"
                if call.gather is None
                else ("speech" if "speech" in call.gather.input else "dtmf")
            )
            if listening != step.listening:
                raise ScenarioError(
                    f"expected the line to listen for {step.listening}, not {listening}"
                )
        self._report(
            f"  {step.call} ok: {step.model_dump(exclude={'action', 'call'}, exclude_none=True)}"
        )
