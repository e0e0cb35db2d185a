"""A secret said in another script's digits is the same secret (no Redis needed)."""

from __future__ import annotations

import pytest

from app.customers import SecretKind, ascii_digits, hash_secret, normalise_secret, secret_matches

FULL_WIDTH = "\uff11\uff12\uff13\uff14\uff15"  # as some Chinese transcripts write 12345


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("๑๒๓๔", "1234"),  # Thai
        ("໑໒໓໔", "1234"),  # Lao
        (FULL_WIDTH[:4], "1234"),
        ("12 ๓4", "12 34"),
        ("no digits", "no digits"),
    ],
)
def test_digits_of_any_script_become_ascii(written: str, digits: str) -> None:
    assert ascii_digits(written) == digits


@pytest.mark.parametrize("kind", [SecretKind.pin, SecretKind.postcode])
@pytest.mark.parametrize("said", ["๑๒๓๔๕", "໑໒໓໔໕", FULL_WIDTH, "1 2 3 4 5"])
def test_a_secret_in_other_digits_matches_the_stored_one(kind: SecretKind, said: str) -> None:
    stored = hash_secret(kind, "12345")
    assert normalise_secret(kind, said) == "12345"
    assert secret_matches(stored, kind, said)
    assert not secret_matches(stored, kind, said.replace(said[0], "9"))
