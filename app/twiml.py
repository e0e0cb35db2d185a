"""The one place that writes TwiML and knows the Twilio-facing URLs.

Use cases return `app.voice_reply` values; this module turns them into a document with
twilio's `VoiceResponse`. Every URL Twilio is given (in TwiML, or in the REST redirect that
moves a call to its agent) comes from `path`/`url` here, and the voice blueprint registers
its views under the same paths.
"""

from __future__ import annotations

import functools
import logging
import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

from twilio.twiml import TwiML
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from app.agents import Reach
from app.queue_service import CallbackAttempt
from app.voice_reply import (
    DialNumber,
    GoTo,
    HangUp,
    JoinTwilioQueue,
    Listen,
    Pause,
    Play,
    Reply,
    RingAgent,
    Route,
    Say,
    Sound,
    Step,
    TryAgain,
    Voice,
)

log = logging.getLogger(__name__)

_PATHS = {
    Route.incoming: "/voice/incoming",
    Route.status: "/voice/status",
    Route.turn: "/voice/turn",
    Route.secret: "/voice/secret",
    Route.menu: "/voice/menu",
    Route.wait: "/voice/wait",
    Route.connect: "/voice/connect",
    Route.whisper: "/voice/whisper",
    Route.dial_result: "/voice/dial-result",
    Route.resume: "/voice/resume",
    Route.language: "/voice/language",
    Route.callback_offer: "/voice/callback-offer",
    Route.callback_choice: "/voice/callback-choice",
    Route.callback_number: "/voice/callback-number",
    Route.callback_answer: "/voice/callback-answer",
    Route.callback_cancel: "/voice/callback-cancel",
    Route.callback_status: "/voice/callback-status",
}

# The query parameter of `Route.resume` saying which try after an outage this is.
ATTEMPT_PARAMETER = "attempt"


def path(route: Route, *, agent_id: str | None = None, attempt: int | None = None) -> str:
    """The path of a route; hand-off routes carry the agent's id, and another try after an
    outage its number (both covered by Twilio's signature, so a caller cannot change them)."""
    query: dict[str, str | int] = {}
    if agent_id is not None:
        query["agent"] = agent_id
    if attempt is not None:
        query[ATTEMPT_PARAMETER] = attempt
    if not query:
        return _PATHS[route]
    return f"{_PATHS[route]}?{urlencode(query)}"


def url(public_base_url: str, route: Route, *, agent_id: str | None = None) -> str:
    """An absolute URL, for Twilio's REST API (which takes no relative ones)."""
    return f"{public_base_url}{path(route, agent_id=agent_id)}"


def callback_url(public_base_url: str, route: Route, queue: str, attempt: CallbackAttempt) -> str:
    """The absolute URL of a callback's outbound call (its answer or status): which queue,
    ticket, offer and agent it is about, signed by Twilio with the rest. The queue is named
    because the number called is the caller's, not one of the queue's."""
    query = {
        "queue": queue,
        "ticket": attempt.ticket,
        "offer": attempt.offer_id,
        "agent": attempt.agent_id,
    }
    return f"{public_base_url}{_PATHS[route]}?{urlencode(query)}"


@functools.lru_cache(maxsize=1024)
def render(reply: Reply) -> str:
    """The TwiML document for a reply. (A document is always a whole `<Response>`: a bare
    verb such as `<Hangup/>` alone is refused by Twilio.) Replies are frozen values and most
    repeat (a round of the wait loop is the same for every caller of a queue and language):
    a document is built once and kept, a tenth of a poll's cost."""
    response = VoiceResponse()
    for step in reply.steps:
        _append(response, step, reply.voice)
    return str(response)


def _append(response: VoiceResponse, step: Step, voice: Voice | None) -> None:
    match step:
        case Say() | Play() | Pause():
            _sound(response, step, voice)
        case Listen():
            response.append(_gather(step, voice))
        case GoTo(to=route):
            response.redirect(path(route))
        case RingAgent():
            response.append(_dial(step))
        case HangUp():
            response.hangup()
        case TryAgain(attempt=attempt):
            response.redirect(path(Route.resume, attempt=attempt))
        case DialNumber(number=number):
            response.dial(number)
        case JoinTwilioQueue(name=name):
            response.enqueue(name)


def _sound(target: VoiceResponse | Gather, step: Sound, voice: Voice | None) -> None:
    match step:
        case Say(text=text, recording=clips) if clips:
            _played(target, text, clips)
        case Say(text=text, voice=own_voice):
            spoken = (own_voice or _required(voice)).settings
            if spoken.voice is None:
                # A recorded language with nothing recorded to play for this sentence (an
                # operator's name with no recording): silence, never a <Say> that fails.
                log.warning("nothing recorded to play for %r: left out", text)
                return
            target.say(text, voice=spoken.voice, language=spoken.say_language)
        case Play(url=recording):
            target.play(recording)
        case Pause(seconds=seconds):
            target.pause(length=seconds)


class _Comment(TwiML):  # type: ignore[misc]
    """An XML comment: Twilio ignores it, people and the stand-in read it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        # A comment may not hold "--" nor end with "-" (XML 1.0, section 2.5).
        self.text = " " + re.sub(r"-(?=-)", "- ", text) + " "

    def xml(self) -> ET.Element[Any]:
        return ET.Comment(self.text)


# A played sentence is its transcript in a comment, then its clips:
#   <!-- said (3 clips): ມີ ສາມ ຄົນ --> <Play>...</Play> <Play>...</Play> <Play>...</Play>
# so whoever reads the TwiML (the stand-in, tests, an operator) knows what the caller heard.
TRANSCRIPT_COMMENT = re.compile(r"^\s*said \((\d+) clips?\): (.*?)\s*$", re.DOTALL)


def _played(target: VoiceResponse | Gather, transcript: str, clips: tuple[str, ...]) -> None:
    count = f"{len(clips)} clip" + ("s" if len(clips) != 1 else "")
    target.append(_Comment(f"said ({count}): {transcript}"))
    for clip in clips:
        target.play(clip)


def _gather(listen: Listen, voice: Voice | None) -> Gather:
    options: dict[str, object] = {
        "action": path(listen.to),
        "method": "POST",
        "input": "speech dtmf" if listen.speech else "dtmf",
        "timeout": listen.timeout,
    }
    if listen.num_digits is not None:
        options["num_digits"] = listen.num_digits
    if listen.finish_on_key is not None:
        options["finish_on_key"] = listen.finish_on_key
    if listen.report_silence:
        options["action_on_empty_result"] = True
    if listen.speech:
        spoken = _required(voice)
        options["language"] = spoken.language
        if spoken.settings.speech_model is None:
            options["speech_timeout"] = spoken.settings.speech_end_seconds
        else:
            options |= {"speech_timeout": "auto", "speech_model": spoken.settings.speech_model}
        if listen.hints and spoken.settings.speech_hints:
            options["hints"] = ", ".join(spoken.settings.speech_hints)
    gather = Gather(**options)
    for sound in listen.prompt:
        _sound(gather, sound, voice)
    return gather


def _dial(ring: RingAgent) -> Dial:
    # answerOnBridge: the caller hears ringing, not silence, until the agent has heard the
    # whisper and is put through.
    dial = Dial(
        action=path(Route.dial_result, agent_id=ring.agent_id),
        method="POST",
        timeout=ring.ring_seconds,
        answer_on_bridge=True,
    )
    _ring(dial, ring.reach, path(Route.whisper, agent_id=ring.agent_id))
    return dial


def _ring(dial: Dial, reach: Reach, whisper_url: str) -> None:
    if reach.client:
        dial.client(reach.client, url=whisper_url, method="POST")
    elif reach.phone:
        dial.number(reach.phone, url=whisper_url, method="POST")
    else:
        dial.sip(reach.sip, url=whisper_url, method="POST")


def _required(voice: Voice | None) -> Voice:
    if voice is None:
        raise ValueError("a reply that speaks or listens for speech needs the call's voice")
    return voice
