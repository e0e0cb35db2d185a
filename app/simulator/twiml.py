"""TwiML parsed into plain verb objects (with xml.etree, as Twilio's samples test TwiML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


class TwimlError(ValueError):
    """The document is not TwiML the simulator (or Twilio) would accept."""


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Play:
    url: str


@dataclass(frozen=True)
class Pause:
    length: int


@dataclass(frozen=True)
class Redirect:
    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Gather:
    action: str
    input: frozenset[str]
    num_digits: int | None
    timeout: int
    finish_on_key: str
    language: str | None
    action_on_empty_result: bool
    children: tuple[Say | Play | Pause, ...] = field(default_factory=tuple)


Verb = Say | Play | Pause | Redirect | Hangup | Gather

_NESTABLE_IN_GATHER = {"Say", "Play", "Pause"}


def _int(element: ET.Element, name: str, default: int | None) -> int | None:
    raw = element.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> is not a whole number") from exc


def _simple(element: ET.Element) -> Say | Play | Pause:
    if element.tag == "Say":
        return Say(
            text=" ".join("".join(element.itertext()).split()),
            voice=element.get("voice"),
            language=element.get("language"),
        )
    if element.tag == "Play":
        return Play(url=(element.text or "").strip())
    return Pause(length=_int(element, "length", 1) or 1)


def _verb(element: ET.Element) -> Verb:
    tag = element.tag
    if tag in _NESTABLE_IN_GATHER:
        return _simple(element)
    if tag == "Redirect":
        return Redirect(url=(element.text or "").strip(), method=element.get("method", "POST"))
    if tag == "Hangup":
        return Hangup()
    if tag == "Gather":
        children = []
        for child in element:
            if child.tag not in _NESTABLE_IN_GATHER:
                raise TwimlError(f"<{child.tag}> cannot be nested in <Gather>")
            children.append(_simple(child))
        return Gather(
            action=element.get("action", ""),
            input=frozenset((element.get("input") or "dtmf").split()),
            num_digits=_int(element, "numDigits", None),
            timeout=_int(element, "timeout", 5) or 5,
            finish_on_key=element.get("finishOnKey", "#"),
            language=element.get("language"),
            action_on_empty_result=element.get("actionOnEmptyResult") == "true",
            children=tuple(children),
        )
    raise TwimlError(f"unsupported verb <{tag}>")


def parse(document: str) -> list[Verb]:
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return [_verb(element) for element in root]
