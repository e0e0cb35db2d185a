"""The agents who answer callers: who they are, how their phone is reached, and how they
sign in. The operator keeps them in a YAML file (`AGENTS_FILE`); passwords are stored only as
hashes (`python -m app.agents password` makes one).

A password check is a scrypt hash: about 0.1 s of a core and 32 MiB. The web process also
answers callers' webhooks, so it checks only a few passwords at a time and refuses the rest
after at most a short wait (`PasswordChecksBusy`) rather than letting a flood of sign-ins take
every core and thread the callers need."""

from __future__ import annotations

import getpass
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from werkzeug.security import check_password_hash, generate_password_hash

from app.settings import LANGUAGE_CODE_PATTERN, OperatorConfig, SettingsError

AGENT_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,31}$"
# Checked when the id is unknown, so a wrong id costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")
# How long a sign-in may wait for a check under way to end (a few checks' time). No more
# sign-ins wait than checks may run, so only a few threads are ever held waiting.
CHECK_WAIT_SECONDS = 0.5


class PasswordChecksBusy(Exception):
    """No password was checked: this process is already checking as many as it may."""


class _PasswordCheckSlots:
    """Counts the password checks under way in this process, so that a caller can bound
    them. A sign-in waits for a slot only if few others already wait."""

    def __init__(self) -> None:
        self._checking = 0
        self._waiting = 0
        self._freed = threading.Condition()

    @contextmanager
    def slot(self, at_once: int, wait_seconds: float) -> Iterator[None]:
        """One of `at_once` slots, waited for up to `wait_seconds` (and only while fewer
        than `at_once` others wait); PasswordChecksBusy otherwise."""
        with self._freed:
            if self._checking >= at_once and self._waiting >= at_once:
                raise PasswordChecksBusy
            self._waiting += 1
            try:
                free = self._freed.wait_for(lambda: self._checking < at_once, wait_seconds)
            finally:
                self._waiting -= 1
            if not free:
                raise PasswordChecksBusy
            self._checking += 1
        try:
            yield
        finally:
            with self._freed:
                self._checking -= 1
                self._freed.notify()


class Reach(BaseModel):
    """Where the agent's phone rings: exactly one of a Twilio Client identity (a softphone
    in the browser), a phone number, or a SIP address."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    client: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,121}$")] | None = None
    phone: Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    sip: Annotated[str, Field(pattern=r"^sips?:[^\s<>]{3,250}$")] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Reach:
        given = [name for name in ("client", "phone", "sip") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of client, phone or sip")
        return self

    def describe(self) -> str:
        if self.client:
            return f"client:{self.client}"
        return self.phone or self.sip or ""


class Agent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(pattern=AGENT_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    queue: str
    password_hash: Annotated[str, Field(pattern=r"^(scrypt|pbkdf2):")]
    reach: Reach
    # The languages the agent speaks: they are put through only callers who chose one of
    # these, and hear the whisper in the first (which needs the operator's prompts). Empty:
    # their queue's default language.
    languages: list[Annotated[str, Field(pattern=LANGUAGE_CODE_PATTERN)]] = []
    # Supervisors also see the operator page (every queue, every agent's state).
    supervisor: bool = False

    @property
    def whisper_language(self) -> str:
        return self.languages[0]


class _AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agents: list[Agent] = []


class AgentDirectory:
    """The agents, by id, as the operator wrote them."""

    def __init__(self, agents: list[Agent]) -> None:
        self._by_id = {agent.id: agent for agent in agents}
        self._check_slots = _PasswordCheckSlots()

    @classmethod
    def from_file(cls, path: Path, config: OperatorConfig) -> AgentDirectory:
        """Load and check the agents file; errors name the file, the agent and the field.
        An agent who lists no languages speaks their queue's default."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
        try:
            parsed = _AgentsFile.model_validate(data)
        except ValidationError as exc:
            problems = [
                f"  {'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            ]
            raise SettingsError("\n".join([f"{path}: invalid agents", *problems])) from exc
        queue_names = {q.name for q in config.queues.queues}
        known_languages = sorted(config.operator.languages)
        seen: set[str] = set()
        agents = []
        for i, agent in enumerate(parsed.agents):
            if agent.id in seen:
                raise SettingsError(f"{path}: agents.{i}.id: {agent.id!r} is listed twice")
            seen.add(agent.id)
            if agent.queue not in queue_names:
                raise SettingsError(
                    f"{path}: agents.{i}.queue: {agent.queue!r} is not a queue "
                    f"(queues: {sorted(queue_names)})"
                )
            if agent.languages and agent.languages[0] not in known_languages:
                raise SettingsError(
                    f"{path}: agents.{i}.languages.0: {agent.languages[0]!r} has no prompts "
                    f"for the whisper in the operator's file (languages: {known_languages})"
                )
            if len(set(agent.languages)) != len(agent.languages):
                raise SettingsError(f"{path}: agents.{i}.languages: a language is listed twice")
            if not agent.languages:
                default = config.queue_named(agent.queue).default_language
                agent = agent.model_copy(update={"languages": [default]})
            agents.append(agent)
        return cls(agents)

    def get(self, agent_id: str) -> Agent | None:
        return self._by_id.get(agent_id)

    def authenticate(
        self,
        agent_id: str,
        password: str,
        *,
        at_once: int = 1,
        wait_seconds: float = CHECK_WAIT_SECONDS,
    ) -> Agent | None:
        """The agent if the password is theirs; None otherwise, after the same work. At most
        `at_once` checks run at a time in this process (a sign-in waits up to
        `wait_seconds` for one to end); beyond that PasswordChecksBusy is raised, for known
        and unknown ids alike, before any check: the password was neither right nor wrong."""
        with self._check_slots.slot(at_once, wait_seconds):
            agent = self._by_id.get(agent_id)
            if agent is None:
                check_password_hash(_DUMMY_HASH, password)
                return None
            return agent if check_password_hash(agent.password_hash, password) else None

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._by_id.values())


def hash_password(password: str) -> str:
    return generate_password_hash(password)


if __name__ == "__main__":
    # python -m app.agents password: print a hash for the agents file (asks twice, or reads
    # one line from stdin when it is not a terminal).
    if sys.argv[1:] != ["password"]:
        sys.exit("usage: python -m app.agents password")
    if sys.stdin.isatty():
        first, second = getpass.getpass("password: "), getpass.getpass("again: ")
        if first != second:
            sys.exit("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\n")
    if len(first) < 10:
        sys.exit("use at least 10 characters")
    print(hash_password(first))
