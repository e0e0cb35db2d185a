"""What a failed Twilio REST request means, and a record of them for the operator.

Transient faults (throttling, Twilio's 5xx, timeouts, the network) are worth trying again
soon. Permanent ones (bad credentials, a URL or number Twilio refuses) fail the same way
every time: they are not retried blindly, each kind is logged once an hour with its code,
and they are counted for the operator's page. A credentials refusal also shows on
`/healthz`, since nothing that needs Twilio can work until someone fixes the settings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum

import redis
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from app import metrics
from app.clock import Clock
from app.redis_text import text

log = logging.getLogger(__name__)

# Twilio's error codes for a request it will never accept from these credentials.
_CREDENTIAL_CODES = frozenset({20003, 20005, 20006})
# A permanent fault of one kind is logged at most this often (by any process).
LOG_EVERY_SECONDS = 3600

_COUNTS_KEY = "rest-faults:counts"  # hash "operation|kind|code" -> count
_LAST_KEY = "rest-faults:last"  # hash "operation|kind|code" -> JSON {at, message}
_CREDENTIALS_KEY = "rest-faults:credentials"  # JSON {code, status, at} while refused
_LOGGED_PREFIX = "rest-faults:logged:"


class FaultKind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class RestFault:
    kind: FaultKind
    code: str  # Twilio's error code, else the HTTP status, else the exception's name
    message: str
    credentials: bool = False  # Twilio refused the account's credentials

    @property
    def transient(self) -> bool:
        return self.kind is FaultKind.TRANSIENT


def classify(exc: BaseException) -> RestFault:
    """The fault an exception from twilio-python stands for."""
    if isinstance(exc, TwilioRestException):
        code = str(exc.code or exc.status)
        message = f"Twilio answered {exc.status} (code {exc.code}): {exc.msg}"
        if exc.status == 429 or exc.status >= 500:
            return RestFault(FaultKind.TRANSIENT, code, message)
        credentials = exc.status == 401 or exc.code in _CREDENTIAL_CODES
        return RestFault(FaultKind.PERMANENT, code, message, credentials=credentials)
    if isinstance(exc, requests.Timeout):
        return RestFault(FaultKind.TRANSIENT, "timeout", str(exc) or "timed out")
    # twilio-python lets the network errors of `requests` through, and a body that is not
    # JSON as ValueError: Twilio unreachable or answering nonsense, worth another try.
    if isinstance(exc, TwilioException | requests.RequestException | ValueError):
        return RestFault(FaultKind.TRANSIENT, type(exc).__name__, str(exc))
    raise TypeError(f"not a REST fault: {exc!r}") from exc


@dataclass(frozen=True)
class FaultCount:
    operation: str
    kind: str
    code: str
    count: int
    last_at: float
    last_message: str


class RestFaults:
    """Counts of REST faults by operation, kind and code, kept in Redis so every process's
    faults reach the operator's page; and whether Twilio is refusing the credentials now."""

    def __init__(self, client: redis.Redis, clock: Clock) -> None:
        self._redis = client
        self._clock = clock

    def record(self, operation: str, fault: RestFault) -> None:
        field = f"{operation}|{fault.kind}|{fault.code}"
        metrics.REST_FAULTS.labels(operation, fault.kind.value, fault.code).inc()
        now = self._clock()
        pipe = self._redis.pipeline(transaction=False)
        pipe.hincrby(_COUNTS_KEY, field, 1)
        pipe.hset(_LAST_KEY, field, json.dumps({"at": now, "message": fault.message[:300]}))
        if fault.credentials:
            pipe.set(_CREDENTIALS_KEY, json.dumps({"code": fault.code, "at": now}))
        if fault.kind is FaultKind.PERMANENT:
            pipe.set(_LOGGED_PREFIX + field, now, nx=True, ex=LOG_EVERY_SECONDS)
        replies = pipe.execute()
        if fault.kind is FaultKind.TRANSIENT:
            log.warning("Twilio %s failed, will retry: %s", operation, fault.message)
        elif replies[-1]:
            log.error(
                "Twilio %s refused (code %s), not retried: %s%s",
                operation,
                fault.code,
                fault.message,
                " (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)" if fault.credentials else "",
            )

    def succeeded(self) -> None:
        """A request went through: the credentials are good (again)."""
        self._redis.delete(_CREDENTIALS_KEY)

    def credentials_refused(self) -> dict[str, object] | None:
        """{code, at} while Twilio's last answer to these credentials was a refusal."""
        raw = self._redis.get(_CREDENTIALS_KEY)
        return json.loads(text(raw)) if raw is not None else None

    def counts(self) -> list[FaultCount]:
        """Every kind of fault seen, most frequent first."""
        counts = self._redis.hgetall(_COUNTS_KEY)
        last = self._redis.hgetall(_LAST_KEY)
        found = []
        for raw_field, raw_count in counts.items():
            field = text(raw_field)
            operation, kind, code = field.split("|", 2)
            seen = json.loads(text(last.get(raw_field) or last.get(field) or "{}"))
            found.append(
                FaultCount(
                    operation,
                    kind,
                    code,
                    int(raw_count),
                    float(seen.get("at", 0.0)),
                    str(seen.get("message", "")),
                )
            )
        return sorted(found, key=lambda f: (-f.count, f.operation, f.code))
