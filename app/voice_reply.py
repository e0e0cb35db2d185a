"""What a caller gets next, as plain values: the call flow decides, `app.twiml` renders.

A use case returns a `Reply` (say these sentences, listen for keys or speech, play, pause,
go to another step, ring an agent, hang up) and never builds TwiML or a URL itself. The
Twilio-facing steps a reply can lead to are `Route`s; their URLs live with the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.agents import Reach
from app.settings import LanguageSettings


class Route(StrEnum):
    """A Twilio webhook of the project's, reached through the TwiML it returns."""

    incoming = "incoming"  # fixed: the number's "a call comes in"
    status = "status"  # fixed: the number's "call status changes"
    turn = "turn"  # the caller spoke or pressed keys at a prompt
    secret = "secret"  # the secret the assistant asked for, checked by the app
    menu = "menu"  # the keypad menu used while the assistant is unavailable
    wait = "wait"  # one round of the wait loop
    connect = "connect"  # the call moved by a worker to ring its agent
    whisper = "whisper"  # the agent answered: what they hear before the caller
    dial_result = "dial_result"  # the attempt to reach the agent is over
    resume = "resume"  # another try after the queue store failed (app/outage.py)
    language = "language"  # the key pressed at the language menu
    callback_offer = "callback_offer"  # closed: the key for a callback at opening
    callback_choice = "callback_choice"  # 1: call me on this number, 2: another number
    callback_number = "callback_number"  # the number keyed to be called back on
    callback_answer = "callback_answer"  # a callback's outbound call was answered
    callback_cancel = "callback_cancel"  # the key on the callback: no longer needed
    callback_status = "callback_status"  # a callback's outbound call changed status


@dataclass(frozen=True)
class Voice:
    """How a call is spoken to: its language code (the operator's key, as Twilio's
    `<Gather>` takes it) and that language's settings (voice, speech model, hints). The
    `<Say language>` comes from the voice (`LanguageSettings.say_language`)."""

    language: str
    # Not hashed (a model of dicts), still compared: replies can be kept by value.
    settings: LanguageSettings = field(hash=False)


@dataclass(frozen=True)
class Say:
    """A sentence, spoken in the call's language and voice, or in `voice` when it is
    another (each option of the language menu is said in its own language); or, where no
    voice speaks the language, played from `recording` (clip URLs, in order). Built from the
    operator's prompts by `app.speech`; `text` is what the caller hears (for a recording,
    its transcript)."""

    text: str
    voice: Voice | None = None
    recording: tuple[str, ...] = ()


@dataclass(frozen=True)
class Play:
    """A recording (hold music)."""

    url: str


@dataclass(frozen=True)
class Pause:
    seconds: int


# What can play while the call listens.
Sound = Say | Play | Pause


@dataclass(frozen=True)
class Listen:
    """Listen for keys (and speech, if `speech`) while `prompt` plays; what was heard goes
    to `to`. Speech is recognised in the call's language with its speech model."""

    to: Route
    prompt: tuple[Sound, ...] = ()
    speech: bool = False
    hints: bool = False  # the operator's speech hints: for open questions only
    timeout: int = 5
    num_digits: int | None = None
    finish_on_key: str | None = None
    report_silence: bool = False  # come back with an empty result, so silence can be asked again


@dataclass(frozen=True)
class GoTo:
    """Continue at another step (Twilio requests it next)."""

    to: Route


@dataclass(frozen=True)
class RingAgent:
    """Ring the agent; on answering they hear the whisper, then the caller is put through.
    The caller hears ringing meanwhile, and the result goes to `Route.dial_result`."""

    agent_id: str
    reach: Reach
    ring_seconds: int


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class TryAgain:
    """Continue at `Route.resume`, carrying which try this is (so the tries are bounded)."""

    attempt: int


@dataclass(frozen=True)
class DialNumber:
    """Pass the call to a phone number (the operator's fallback line); the call ends when
    that conversation does."""

    number: str


@dataclass(frozen=True)
class JoinTwilioQueue:
    """Put the call in one of Twilio's own queues (`<Enqueue>`), by name: the operator's
    fallback, served by whatever dequeues from it."""

    name: str


Step = (
    Say
    | Play
    | Pause
    | Listen
    | GoTo
    | RingAgent
    | HangUp
    | TryAgain
    | DialNumber
    | JoinTwilioQueue
)


@dataclass(frozen=True)
class Reply:
    """Everything the caller gets in answer to one request, in order. `voice` is needed
    only when something is said or heard."""

    steps: tuple[Step, ...]
    voice: Voice | None = None
