"""What production refuses to start with: missing, short or published secrets, malformed
Twilio ids, a public URL without TLS, and the demo data (whose passwords and PINs are
published in demo/README.md), even copied elsewhere. Every problem is listed at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from app.settings import OperatorSettings, Settings

MIN_SECRET_CHARS = 32
# Secrets published in this repository or its documentation, and common placeholders.
PUBLISHED_SECRETS = frozenset(
    {
        "development-token-not-a-secret",  # the development auth token (settings.py)
        "test-auth-token-0123456789abcdef",  # the tests'
        "test-rasa-token",
        "changeme",
        "change-me",
        "secret",
        "password",
    }
)
_ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
_AUTH_TOKEN = re.compile(r"^[0-9a-f]{32}$")  # Twilio's auth tokens: 32 hex digits
_HASH = re.compile(r"(?:scrypt|pbkdf2)[:$][^\s'\"]+")


def production_problems(settings: Settings, demo_dir: Path) -> list[str]:
    required = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "RASA_TOKEN": settings.rasa_token,
        "SECRET_KEY": settings.secret_key,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        return [f"{', '.join(missing)} must be set in production (APP_ENV=production)"]
    problems: list[str] = []
    if not _ACCOUNT_SID.match(settings.twilio_account_sid):
        problems.append("TWILIO_ACCOUNT_SID is not an account SID (AC and 32 hex digits)")
    if not _AUTH_TOKEN.match(settings.twilio_auth_token):
        problems.append("TWILIO_AUTH_TOKEN is not a Twilio auth token (32 hex digits)")
    for name in ("TWILIO_AUTH_TOKEN", "RASA_TOKEN", "SECRET_KEY"):
        value = required[name]
        if value.lower() in PUBLISHED_SECRETS:
            problems.append(f"{name} is a published value: choose your own")
        elif len(value) < MIN_SECRET_CHARS and name != "TWILIO_AUTH_TOKEN":
            problems.append(f"{name} is too short: at least {MIN_SECRET_CHARS} random characters")
    if not settings.public_base_url.startswith("https://"):
        problems.append("PUBLIC_BASE_URL must be https:// in production (Twilio signs it)")
    problems += _demo_data_problems(settings, demo_dir)
    return problems


def _demo_data_problems(settings: Settings, demo_dir: Path) -> list[str]:
    """The demo's files, or files holding any of their password or PIN hashes."""
    demo_hashes = {
        found
        for name in ("agents.yml", "customers.yml")
        for found in _HASH.findall((demo_dir / name).read_text(encoding="utf-8"))
    }
    problems = []
    for name, path in (
        ("CUSTOMERS_FILE", settings.customers_file),
        ("AGENTS_FILE", settings.agents_file),
    ):
        if path.resolve().is_relative_to(demo_dir):
            problems.append(f"{name} must name your own file in production, not the demo data")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue  # reported when the file is loaded, with the reason
        if demo_hashes & set(_HASH.findall(text)):
            problems.append(
                f"{name} ({path}) holds passwords or PINs of the published demo data: "
                "make your own hashes"
            )
    return problems


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def recording_problems(operator: OperatorSettings, operator_file: Path) -> list[str]:
    """Recordings Twilio could not fetch in production: served from this machine's loopback
    (the demo's placeholder tones) or without TLS."""
    problems = []
    for code, lang in operator.languages.items():
        if lang.recordings is None:
            continue
        url = urlsplit(lang.recordings.base_url)
        if url.hostname in _LOOPBACK_HOSTS or (url.hostname or "").startswith("127."):
            problems.append(
                f"{operator_file}: languages.{code}.recordings.base_url: {url.geturl()} is "
                "this machine's loopback (the demo's placeholder tones): point it at your own "
                "recordings, an https location Twilio can fetch"
            )
        elif url.scheme != "https":
            problems.append(
                f"{operator_file}: languages.{code}.recordings.base_url must be https:// "
                "in production"
            )
    return problems
