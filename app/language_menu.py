"""The language menu of a number that serves several languages: key 1 for the queue's first
language, 2 for the second, and so on, each option said in its own language and voice (a
caller who does not understand the default must still understand their own option). The
words are the operator's (`language_option`, `language_switch`); this module only numbers
the options and reads the key back."""

from __future__ import annotations

from dataclasses import replace

from app import listening, speech
from app.call_context import CallContext
from app.settings import Line, OperatorConfig, QueueSettings
from app.voice_reply import GoTo, Reply, Route, Say, Voice


def options(config: OperatorConfig, queue: QueueSettings) -> tuple[Say, ...]:
    """Every option of `queue`'s menu, each in the voice of the language it offers."""
    return tuple(
        # The key as a number: a recorded language says it from its number clips.
        _in_own_voice(config, code, config.language(code).prompts.language_option, key=int(key))
        for key, code in _keyed(queue)
    )


def offer(config: OperatorConfig, ctx: CallContext) -> Reply:
    """Listen for the key of a language. Twilio reports silence too (`Route.language`); the
    wait loop, should the menu be left some other way, offers it again to a caller who has
    not chosen."""
    menu = listening.for_language_menu(options(config, ctx.queue))
    return ctx.reply(menu, GoTo(Route.wait))


def language_for_key(queue: QueueSettings, digits: str) -> str | None:
    """The language a key chooses, or None for anything else (no key, a wrong key)."""
    return dict(_keyed(queue)).get(digits)


def switch_hint(ctx: CallContext) -> Say | None:
    """Said with the wait menu on a number with several languages: how to change."""
    line = ctx.lang.prompts.language_switch
    if not ctx.queue.multilingual or line is None:
        return None
    return ctx.say(line, key=int(listening.LANGUAGE_KEY))


def _keyed(queue: QueueSettings) -> list[tuple[str, str]]:
    return [(str(i), code) for i, code in enumerate(queue.languages, start=1)]


def _in_own_voice(config: OperatorConfig, code: str, line: Line | None, **values: object) -> Say:
    if line is None:  # checked at start for every queue with a menu (app.settings)
        raise ValueError(f"{code} has no language_option prompt")
    said = speech.sentence(config.language(code), line, **values)
    return replace(said, voice=Voice(code, config.language(code)))
