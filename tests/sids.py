"""Twilio's ids in text that a test searches for a secret: a SID is 32 random hex digits,
so now and then one holds a PIN's digits ("CA…74821f…") and the search would find what the
product never wrote. Tests take the ids out before they look."""

from __future__ import annotations

import re

SID = re.compile(r"\b[A-Z]{2}[0-9a-f]{32}\b")


def without_sids(text: str) -> str:
    return SID.sub("<sid>", text)
