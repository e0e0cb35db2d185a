"""Secrets said aloud are redacted before anything keeps or forwards the sentence."""

from __future__ import annotations

import pytest

from app.assistant import redact_secrets


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("my pin is 4821", "my pin is [redacted]"),
        ("my pin is 4 8 2 1", "my pin is [redacted]"),
        ("pin four eight two one", "pin [redacted]"),
        ("my passcode is oh one two three please", "my passcode is [redacted] please"),
        ("my date of birth is 03141985", "my date of birth is [redacted]"),
        ("i was born 3 14 1985", "i was born [redacted]"),
        ("account 10234567 pin 4821", "account 10234567 pin [redacted]"),
    ],
)
def test_secrets_said_aloud_are_redacted(said: str, kept: str) -> None:
    assert redact_secrets(said) == kept


@pytest.mark.parametrize(
    "said",
    ["my account number is 10234567", "i forgot my pin", "there are 4 people in my house"],
)
def test_other_numbers_are_kept(said: str) -> None:
    assert redact_secrets(said) == said
