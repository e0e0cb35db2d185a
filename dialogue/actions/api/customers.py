"""Read-only view of the customer file (a CRM in production; `demo/customers.yml` here).

Only the fields the dialogue needs are loaded: account number, name, service area,
appointments, and the file's known outages. The `secrets` hashes are the web app's business:
they are dropped while parsing and never reach an action.

The file is `$CUSTOMERS_FILE`, by default the repository's `demo/customers.yml`, found
relative to this package. It is re-read when its modification time changes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CUSTOMERS_FILE = Path(__file__).resolve().parents[3] / "demo" / "customers.yml"


@dataclass(frozen=True)
class Wording:
    """Words from the customer file that the caller hears: one text, or one per language
    (`kind: {en-US: technician visit, th-TH: ช่างเข้าบริการ}`). A language without its own
    text hears the first one given."""

    texts: tuple[tuple[str, str], ...]  # (language code, or "" for any; text)

    @classmethod
    def parse(cls, value: Any, default: str = "") -> Wording:
        if isinstance(value, dict):
            texts = tuple((str(k), str(v)) for k, v in value.items() if v is not None)
            return cls(texts or (("", default),))
        return cls((("", default if value is None or value == "" else str(value)),))

    def in_language(self, code: str) -> str:
        return next((text for lang, text in self.texts if lang == code), self.texts[0][1])

    def __str__(self) -> str:
        return self.texts[0][1]


@dataclass(frozen=True)
class Appointment:
    id: str
    kind: Wording
    date: str  # ISO date, YYYY-MM-DD, in the customer's time zone
    window: Wording  # as spoken, e.g. "8 AM to 12 PM"


@dataclass(frozen=True)
class Customer:
    account_number: str
    name: str
    service_area: str
    appointments: tuple[Appointment, ...]


@dataclass(frozen=True)
class Outage:
    service_area: str
    service: Wording
    since: datetime | None
    expected_fix: Wording
    note: Wording

    def is_active(self, now: datetime) -> bool:
        return self.since is None or self.since <= now


@dataclass(frozen=True)
class CustomerDirectory:
    customers: dict[str, Customer]
    outages: tuple[Outage, ...]

    def find(self, account_number: str | None) -> Customer | None:
        return self.customers.get(account_number or "")

    def outage_in(self, service_area: str, now: datetime) -> Outage | None:
        """The first known, already started problem in the area, if any."""
        area = service_area.strip().lower()
        return next(
            (o for o in self.outages if o.service_area.lower() == area and o.is_active(now)),
            None,
        )


def customers_file() -> Path:
    return Path(os.environ.get("CUSTOMERS_FILE") or DEFAULT_CUSTOMERS_FILE)


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def parse_directory(data: dict[str, Any]) -> CustomerDirectory:
    """Build the directory from the file's YAML, keeping only non-secret fields."""
    customers = {}
    for raw in data.get("customers") or []:
        account = str(raw["account_number"])
        appointments = tuple(
            Appointment(
                id=str(a["id"]),
                kind=Wording.parse(a.get("kind"), "appointment"),
                date=str(a["date"]),
                window=Wording.parse(a.get("window")),
            )
            for a in raw.get("appointments") or []
        )
        customers[account] = Customer(
            account_number=account,
            name=str(raw.get("name") or ""),
            service_area=str(raw.get("service_area") or ""),
            appointments=appointments,
        )
    outages = tuple(
        Outage(
            service_area=str(o["service_area"]),
            service=Wording.parse(o.get("service"), "service"),
            since=_parse_time(o.get("since")),
            expected_fix=Wording.parse(o.get("expected_fix")),
            note=Wording.parse(o.get("note")),
        )
        for o in data.get("outages") or []
    )
    return CustomerDirectory(customers=customers, outages=outages)


_lock = threading.Lock()
_cache: dict[Path, tuple[float, CustomerDirectory]] = {}


def load_directory(path: Path | None = None) -> CustomerDirectory:
    """The directory from `path` (default: `customers_file()`), cached until the file changes."""
    path = path or customers_file()
    mtime = path.stat().st_mtime
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    with path.open(encoding="utf-8") as f:
        directory = parse_directory(yaml.safe_load(f) or {})
    with _lock:
        _cache[path] = (mtime, directory)
    return directory
