"""How the call listens at each kind of prompt: for what, how long, and where the answer goes.

Keys: exactly `0` means "a person" at any prompt; a number the assistant asks for ends with
`#`. Speech is listened for only where it is useful, because Twilio bills recognition for
as long as a speech `<Gather>` listens.
"""

from __future__ import annotations

from app.voice_reply import Listen, Route, Sound

PERSON_KEY = "0"  # at any prompt: a person, now
ASSISTANT_KEY = "1"  # while waiting: talk to the assistant again
CALLBACK_KEY = "2"  # while waiting, where the queue allows it: be called back in turn
LANGUAGE_KEY = "9"  # while waiting, on a number with several languages: the language menu
END_OF_NUMBER = "#"

Prompt = tuple[Sound, ...]


def at_greeting(prompt: Prompt) -> Listen:
    """The greeting: the caller may say why they called, or press a key, as soon as it
    starts (as in the wait loop with speech on)."""
    return while_waiting(prompt, speech=True)


def while_waiting(prompt: Prompt, *, speech: bool) -> Listen:
    """Hold music: keys (1 the assistant, 0 a person), and speech if the operator allows."""
    return Listen(Route.turn, prompt, speech=speech, hints=speech, timeout=3, num_digits=1)


def for_answer(prompt: Prompt) -> Listen:
    """The assistant asked a question: speech (or a key); silence comes back to be asked
    again."""
    return Listen(
        Route.turn, prompt, speech=True, hints=True, timeout=5, num_digits=1, report_silence=True
    )


def for_number(prompt: Prompt, max_digits: int | None) -> Listen:
    """The answer is a number (an account number): keys ending with #, or said aloud."""
    return Listen(
        Route.turn,
        prompt,
        speech=True,
        timeout=8,
        num_digits=max_digits or None,
        finish_on_key=END_OF_NUMBER,
        report_silence=True,
    )


def for_secret(prompt: Prompt, *, spoken: bool) -> Listen:
    """A secret the app checks itself: on the keypad, or said where a keypad cannot serve
    (a postcode)."""
    return Listen(
        Route.secret,
        prompt,
        speech=spoken,
        timeout=10,
        finish_on_key=END_OF_NUMBER,
        report_silence=True,
    )


def for_language_menu(prompt: Prompt) -> Listen:
    """The language menu: one key, each option said in its own language; silence comes back
    too, so it can be offered once more before the default applies."""
    return Listen(Route.language, prompt, timeout=5, num_digits=1, report_silence=True)


def for_keypad_menu(prompt: Prompt) -> Listen:
    """The menu offered while the assistant is unavailable: one key."""
    return Listen(Route.menu, prompt, timeout=5, num_digits=1)
