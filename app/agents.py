"""The agents who answer callers: who they are, how their phone is reached, and how they
sign in. The operator keeps them in a YAML file (`AGENTS_FILE`); passwords are stored only as
hashes (`python -m app.agents password` makes one)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from werkzeug.security import check_password_hash, generate_password_hash

from app.settings import SettingsError

AGENT_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,31}$"
# Checked when the id is unknown, so a wrong id costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


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
    # Supervisors also see the operator page (every queue, every agent's state).
    supervisor: bool = False


class _AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agents: list[Agent] = []


class AgentDirectory:
    """The agents, by id, as the operator wrote them."""

    def __init__(self, agents: list[Agent]) -> None:
        self._by_id = {agent.id: agent for agent in agents}

    @classmethod
    def from_file(cls, path: Path, queue_names: set[str]) -> AgentDirectory:
        """Load and check the agents file; errors name the file, the agent and the field."""
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
        seen: set[str] = set()
        for i, agent in enumerate(parsed.agents):
            if agent.id in seen:
                raise SettingsError(f"{path}: agents.{i}.id: {agent.id!r} is listed twice")
            seen.add(agent.id)
            if agent.queue not in queue_names:
                raise SettingsError(
                    f"{path}: agents.{i}.queue: {agent.queue!r} is not a queue "
                    f"(queues: {sorted(queue_names)})"
                )
        return cls(parsed.agents)

    def get(self, agent_id: str) -> Agent | None:
        return self._by_id.get(agent_id)

    def authenticate(self, agent_id: str, password: str) -> Agent | None:
        """The agent if the password is theirs; None otherwise, after the same work."""
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
