"""TwiML parsed into plain verb objects (with xml.etree, as Twilio's samples test TwiML).

Only what the stand-in plays is modelled: Say, Play, Pause, Gather (with nested Say, Play,
Pause), Redirect, Hangup, and Dial with one Number, Client or Sip noun. Anything else is a
`TwimlError`, so a document the stand-in cannot honour fails loudly instead of being skipped.

Comments are ignored, as Twilio ignores them, except the transcript the app writes before a
sentence played from recorded clips (`<!-- said (3 clips): ... -->`, then the three
`<Play>`s): those Plays carry it, so what the caller heard can be read as text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field


class TwimlError(ValueError):
    """The document is not TwiML the simulator (or Twilio) would accept."""


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1


@dataclass(frozen=True)
class Play:
    url: str
    # Twilio's loop="0" repeats until something else happens (a key, a redirect).
    loop: int = 1
    # A clip of a recorded sentence (not music): the first clip carries the sentence's
    # transcript, the others an empty one.
    transcript: str | None = None


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
    method: str = "POST"


@dataclass(frozen=True)
class DialNoun:
    """One party a <Dial> rings: `address` is what Twilio puts in the child leg's `To`
    (`+15005550101`, `client:alice`, `sip:carol@agents.example.com`)."""

    kind: str  # "Number", "Client" or "Sip"
    address: str
    url: str | None = None
    method: str = "POST"
    status_callback: str | None = None
    status_callback_event: frozenset[str] = frozenset({"completed"})
    status_callback_method: str = "POST"


@dataclass(frozen=True)
class Dial:
    noun: DialNoun
    action: str | None = None
    method: str = "POST"
    timeout: int = 30
    caller_id: str | None = None
    answer_on_bridge: bool = False
    record: str = "do-not-record"
    time_limit: int = 14400


Verb = Say | Play | Pause | Redirect | Hangup | Gather | Dial

_NESTABLE_IN_GATHER = {"Say", "Play", "Pause"}
_METHODS = {"GET", "POST"}


def _int(element: ET.Element, name: str, default: int | None) -> int | None:
    raw = element.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> is not a whole number") from exc


def _method(element: ET.Element, name: str = "method") -> str:
    method = (element.get(name) or "POST").upper()
    if method not in _METHODS:
        raise TwimlError(f"<{element.tag} {name}={method!r}> must be GET or POST")
    return method


def _bool(element: ET.Element, name: str) -> bool:
    return (element.get(name) or "false").lower() == "true"


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


_TRANSCRIPT = re.compile(r"^\s*said \((\d+) clips?\): (.*?)\s*$", re.DOTALL)


def _with_transcripts(parent: ET.Element) -> Iterator[tuple[ET.Element, str | None]]:
    """The elements of `parent` (comments dropped), each Play with the transcript the
    comment before its sentence gives (None for a Play of no recorded sentence)."""
    transcript: str | None = None
    clips_left = 0
    for element in parent:
        if not isinstance(element.tag, str):  # a comment (ET.Comment as its tag)
            match = _TRANSCRIPT.match(element.text or "")
            if match:
                clips_left, transcript = int(match.group(1)), " ".join(match.group(2).split())
            continue
        if element.tag == "Play" and clips_left > 0:
            yield element, transcript
            transcript, clips_left = "", clips_left - 1
        else:
            transcript, clips_left = None, 0
            yield element, None


def _simple(element: ET.Element, transcript: str | None = None) -> Say | Play | Pause:
    if element.tag == "Say":
        return Say(
            text=_text(element),
            voice=element.get("voice"),
            language=element.get("language"),
            loop=_int(element, "loop", 1) or 1,
        )
    if element.tag == "Play":
        loop = _int(element, "loop", 1)
        return Play(
            url=(element.text or "").strip(),
            loop=1 if loop is None else loop,
            transcript=transcript,
        )
    return Pause(length=_int(element, "length", 1) or 1)


def _noun(element: ET.Element) -> DialNoun:
    tag = element.tag
    if tag == "Client":
        # Either <Client>alice</Client> or <Client><Identity>alice</Identity>...</Client>.
        identity = element.find("Identity")
        name = (identity.text if identity is not None else element.text) or ""
        address = f"client:{name.strip()}"
    elif tag in {"Number", "Sip"}:
        address = (element.text or "").strip()
    else:
        raise TwimlError(f"<Dial><{tag}> is not supported by the stand-in")
    if address in {"", "client:"}:
        raise TwimlError(f"<Dial><{tag}> names nobody")
    events = (element.get("statusCallbackEvent") or "completed").replace(",", " ").split()
    return DialNoun(
        kind=tag,
        address=address,
        url=element.get("url"),
        method=_method(element),
        status_callback=element.get("statusCallback"),
        status_callback_event=frozenset(events),
        status_callback_method=_method(element, "statusCallbackMethod"),
    )


def _dial(element: ET.Element) -> Dial:
    nouns = [child for child in element if child.tag != "Parameter"]
    if len(nouns) > 1:
        # Twilio rings up to ten at once; the app dials one agent at a time.
        raise TwimlError("the stand-in dials one party per <Dial>")
    if nouns:
        noun = _noun(nouns[0])
    else:
        number = (element.text or "").strip()
        if not number:
            raise TwimlError("<Dial> names nobody")
        noun = DialNoun(kind="Number", address=number)
    return Dial(
        noun=noun,
        action=element.get("action"),
        method=_method(element),
        timeout=_int(element, "timeout", 30) or 30,
        caller_id=element.get("callerId"),
        answer_on_bridge=_bool(element, "answerOnBridge"),
        record=element.get("record", "do-not-record"),
        time_limit=_int(element, "timeLimit", 14400) or 14400,
    )


def _verb(element: ET.Element, transcript: str | None) -> Verb:
    tag = element.tag
    if tag in _NESTABLE_IN_GATHER:
        return _simple(element, transcript)
    if tag == "Redirect":
        return Redirect(url=(element.text or "").strip(), method=_method(element))
    if tag == "Hangup":
        return Hangup()
    if tag == "Dial":
        return _dial(element)
    if tag == "Gather":
        children = []
        for child, said in _with_transcripts(element):
            if child.tag not in _NESTABLE_IN_GATHER:
                raise TwimlError(f"<{child.tag}> cannot be nested in <Gather>")
            children.append(_simple(child, said))
        num_digits = _int(element, "numDigits", None)
        if num_digits is not None and num_digits < 1:
            raise TwimlError(f"<Gather numDigits={num_digits}> must be at least 1")
        return Gather(
            action=element.get("action", ""),
            input=frozenset((element.get("input") or "dtmf").split()),
            num_digits=num_digits,
            timeout=_int(element, "timeout", 5) or 5,
            finish_on_key=element.get("finishOnKey", "#"),
            language=element.get("language"),
            action_on_empty_result=_bool(element, "actionOnEmptyResult"),
            children=tuple(children),
            method=_method(element),
        )
    raise TwimlError(f"unsupported verb <{tag}>")


def parse(document: str) -> list[Verb]:
    """The verbs of a TwiML document, in order. Raises TwimlError for anything else."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    try:
        root = ET.fromstring(document, parser=parser)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return [_verb(element, said) for element, said in _with_transcripts(root)]
