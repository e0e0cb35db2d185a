"""Where a call is: its queue, and the language it is spoken to in."""

from __future__ import annotations

from dataclasses import dataclass

from app import speech
from app.settings import LanguageSettings, Line, OperatorConfig, QueueSettings
from app.voice_reply import Reply, Say, Step, Voice


@dataclass(frozen=True)
class CallContext:
    queue: QueueSettings
    language: str
    lang: LanguageSettings

    @property
    def voice(self) -> Voice:
        return Voice(self.language, self.lang)

    def reply(self, *steps: Step) -> Reply:
        """A reply spoken in this call's language and voice."""
        return Reply(steps, self.voice)

    def say(self, line: Line, **values: object) -> Say:
        """One of the operator's sentences, as said in this call's language."""
        return speech.sentence(self.lang, line, **values)


def call_context(
    config: OperatorConfig, queue: QueueSettings, language: str | None = None
) -> CallContext:
    """A call in `queue`, spoken to in its own language if the operator has prompts for it
    (else the queue's)."""
    code = language if language in config.operator.languages else queue.default_language
    return CallContext(queue=queue, language=code, lang=config.language(code))


def language_name(config: OperatorConfig, code: str, in_language: str) -> Line:
    """How the language `code` is named in `in_language` (for an agent); its code when the
    operator gives no name."""
    settings = config.operator.languages.get(in_language)
    named = settings.language_names.get(code) if settings else None
    return named or Line(text=code)


def for_called_number(
    config: OperatorConfig, called: str, language: str | None = None
) -> CallContext:
    """A call to `called` (Twilio's `To`, in every webhook): its queue is the number's."""
    return call_context(config, config.queue_for_number(called), language)
