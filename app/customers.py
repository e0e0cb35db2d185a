"""The customer store the app verifies callers against (a CRM in production; demo customers
shipped as YAML here). Secrets are kept only as scrypt hashes and compared in constant time;
they are never logged, stored with the call, or sent to the dialogue."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sys
import unicodedata
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.settings import SettingsError

# scrypt cost: ~50 ms per check on this class of machine, so guessing a 4-digit PIN offline
# from a stolen file costs minutes, not microseconds; attempts online are capped at 3 anyway.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class SecretKind(StrEnum):
    pin = "pin"
    dob = "dob"  # date of birth, keyed as MMDDYYYY
    postcode = "postcode"


def ascii_digits(text: str) -> str:
    """Digits of any script as ASCII digits: a recogniser may write a spoken number in Thai
    (๑๒๓), Lao (໑໒໓) or full-width digits, and a secret is the same secret in each."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def normalise_secret(kind: SecretKind, value: str) -> str:
    """Callers key or say secrets in several shapes; compare one canonical form."""
    text = ascii_digits(value.strip().lower())
    if kind is SecretKind.postcode:
        return re.sub(r"[^0-9a-z]", "", text)
    return re.sub(r"\D", "", text)


def hash_secret(kind: SecretKind, value: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(normalise_secret(kind, value).encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def secret_matches(stored: str, kind: SecretKind, value: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        normalise_secret(kind, value).encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT
    )
    return hmac.compare_digest(digest.hex(), digest_hex)


class Customer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    account_number: str = Field(pattern=r"^\d{6,12}$")
    name: str
    phones: list[str] = []
    secrets: dict[SecretKind, str]


class CustomerStore:
    def __init__(self, customers: list[Customer]) -> None:
        self._by_account = {c.account_number: c for c in customers}
        self._by_phone = {p: c for c in customers for p in c.phones}

    @classmethod
    def from_file(cls, path: Path) -> CustomerStore:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            customers = [Customer.model_validate(c) for c in data.get("customers", [])]
        except (OSError, yaml.YAMLError, ValidationError, AttributeError) as exc:
            raise SettingsError(f"{path}: cannot load customers: {exc}") from exc
        return cls(customers)

    def by_account(self, account_number: str) -> Customer | None:
        return self._by_account.get(re.sub(r"\D", "", account_number))

    def by_phone(self, number: str | None) -> Customer | None:
        return self._by_phone.get(number) if number else None

    def verify(self, account_number: str, kind: SecretKind, value: str) -> Customer | None:
        """The customer if `value` is their `kind` secret; None otherwise (unknown account
        included, after the same work, so timing does not tell which)."""
        customer = self.by_account(account_number)
        stored = customer.secrets.get(kind) if customer else None
        if stored is None:
            hash_secret(kind, value)  # equal cost either way
            return None
        return customer if secret_matches(stored, kind, value) else None


if __name__ == "__main__":
    # python -m app.customers pin 1234: print a hash for the customer file.
    print(hash_secret(SecretKind(sys.argv[1]), sys.argv[2]))
