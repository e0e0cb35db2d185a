"""HTTP to the Rasa server, inside a strict time budget, with a circuit breaker.

A caller hears silence while a webhook runs, so a dialogue turn gets a fixed budget (about
1.5 s, for the message and reading back the slots); a Rasa that is down, slow, erroring or
saturated makes the turn fail fast with `DialogueUnavailable`, and the call flow offers the
keypad menu instead. After repeated failures the breaker opens and turns fail at once, until
one trial request after the cool-down succeeds.

Several Rasa processes (RASA_URLS) share the conversations (trackers and locks live in
Redis), so turns go round them, each with its own breaker; one that refuses the connection
is skipped within the same turn, since it never saw the message. A turn that reached a
process and then failed is not sent again: it may have been handled. Each process holds at
most its share of turns at once (app/dialogue_slots.py): when every one is full, the turn
falls back at once.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import requests
from urllib3.exceptions import NewConnectionError

from app.clock import Clock
from app.dialogue_slots import TurnSlots
from app.http_sessions import SessionPool

log = logging.getLogger(__name__)


DIALOGUE_BUSY = "every Rasa process is at its turn limit"


class DialogueUnavailable(Exception):
    """Rasa could not answer within the budget (down, slow, erroring, busy, breaker open)."""


@dataclass(frozen=True)
class Reply:
    text: str | None
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Understanding:
    """What the dialogue's NLU made of one utterance (`POST /model/parse`)."""

    intent: str | None
    confidence: float
    entities: list[dict[str, Any]]
    # The text as the model saw it: digits in ASCII, Chinese in Simplified characters.
    normalized_text: str


@dataclass(frozen=True)
class DialogueTurn:
    replies: list[Reply]
    slots: dict[str, Any]
    intent: str | None
    confidence: float | None


class CircuitBreaker:
    """Closed: requests go through. After `threshold` consecutive failures: open, and
    requests fail at once for `cooldown` seconds; then one trial is let through (half-open):
    success closes it, failure opens it again."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 15.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None and not self._cooled_down()

    def _cooled_down(self) -> bool:
        return self._opened_at is not None and self._clock() - self._opened_at >= self._cooldown

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if self._cooled_down() and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._opened_at is not None or self._failures >= self._threshold:
                self._opened_at = self._clock()


@dataclass(frozen=True)
class _Server:
    base: str
    breaker: CircuitBreaker


def _never_reached(exc: Exception) -> bool:
    """The connection itself failed: the server never saw the request, so another may."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _take_slot(slots: TurnSlots, server: _Server) -> str | None:
    try:
        return slots.take(server.base)
    except redis.RedisError as exc:
        # No way to count the turns at once: the keypad menu, as for a Rasa that is down.
        raise DialogueUnavailable(f"turn slots unreadable: {type(exc).__name__}") from exc


def _give_back_slot(slots: TurnSlots, server: _Server, slot: str) -> None:
    try:
        slots.give_back(server.base, slot)
    except redis.RedisError as exc:
        # The slot expires with its turn's budget by itself.
        log.warning("turn slot not given back (%s): it expires", type(exc).__name__)


class RasaClient:
    """The app's channel of Rasa (sender = CallSid), over one or several Rasa processes."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        token: str,
        budget_seconds: float = 1.5,
        slots: TurnSlots | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """`slots`: the bound on turns at once per Rasa process (none: unbounded, for the
        operators' tools). `breaker`: the first server's (tests give their own clock); the
        others get new ones."""
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("no Rasa URL")
        self._servers = [
            _Server(url.rstrip("/"), (breaker if i == 0 and breaker else CircuitBreaker()))
            for i, url in enumerate(urls)
        ]
        self._turns = itertools.count()
        self._token = token
        self._budget = budget_seconds
        self._slots = slots
        self._sessions = SessionPool()

    @property
    def _base(self) -> str:
        """The first server's URL, for the operators' parse and status checks."""
        return self._servers[0].base

    @property
    def is_open(self) -> bool:
        """Every server's breaker is open: turns fail at once."""
        return all(server.breaker.is_open for server in self._servers)

    def _in_turn(self) -> list[_Server]:
        """The servers in the order a turn tries them: round from the next one. (Each
        breaker is asked only when its server is about to be used: asking lets a half-open
        breaker's one trial through.)"""
        start = next(self._turns) % len(self._servers)
        return self._servers[start:] + self._servers[:start]

    def close(self) -> None:
        self._sessions.close_all()

    def turn(
        self,
        sender: str,
        message: str,
        metadata: dict[str, Any],
        *,
        told_first: Sequence[str] = (),
    ) -> DialogueTurn:
        """Send one message and read back the conversation's slots, within the budget.
        `told_first`: app messages sent before it, in the same budget, whose replies are
        not wanted."""
        deadline = time.monotonic() + self._budget
        tried = busy = 0
        for server in self._in_turn():
            slot = _take_slot(self._slots, server) if self._slots else ""
            if slot is None:
                busy += 1  # full: Rasa would only queue it past the budget
                continue
            try:
                if not server.breaker.allow():
                    continue
                tried += 1
                try:
                    for earlier in told_first:
                        self._post_message(server, sender, earlier, metadata, deadline)
                    turn = self._post_message(server, sender, message, metadata, deadline)
                except Exception as exc:  # any failure, malformed answers included
                    server.breaker.failed()
                    # The type only: requests' messages carry the URL, and the URL the token.
                    log.warning("dialogue turn for %s failed: %s", sender, type(exc).__name__)
                    if _never_reached(exc) and not told_first:
                        continue  # down: the next process takes the turn
                    raise DialogueUnavailable(type(exc).__name__) from exc
                server.breaker.succeeded()
                return turn
            finally:
                if self._slots and slot:
                    _give_back_slot(self._slots, server, slot)
        if tried:
            raise DialogueUnavailable("no Rasa process answered")
        raise DialogueUnavailable(DIALOGUE_BUSY if busy else "circuit open")

    def understand(self, text: str, timeout: float = 10.0) -> Understanding:
        """The intent and entities of `text` through the running model, outside any
        conversation (no tracker is touched): operators' check of phrasing. Errors are
        requests' own (ConnectionError, HTTPError), for the caller to explain."""
        with self._sessions.session() as session:
            response = session.post(
                f"{self._base}/model/parse",
                params={"token": self._token},
                json={"text": text},
                timeout=timeout,
            )
        response.raise_for_status()
        parsed: dict[str, Any] = response.json()
        intent = parsed.get("intent") or {}
        return Understanding(
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
            entities=[
                {"entity": e.get("entity"), "value": e.get("value")}
                for e in parsed.get("entities") or []
            ],
            normalized_text=str(parsed.get("text") or ""),
        )

    def is_up(self, timeout: float = 1.0) -> bool:
        try:
            with self._sessions.session() as session:
                response = session.get(
                    f"{self._base}/status", params={"token": self._token}, timeout=timeout
                )
        except requests.RequestException:
            return False
        return response.status_code == 200

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise requests.Timeout("dialogue budget spent")
        return remaining

    def _post_message(
        self, server: _Server, sender: str, message: str, metadata: dict[str, Any], deadline: float
    ) -> DialogueTurn:
        """One message through the app's channel (dialogue/channels.py): the replies, and
        the conversation's slots and intent after it, in one request."""
        with self._sessions.session() as session:
            response = session.post(
                f"{server.base}/webhooks/rest_state/webhook",
                json={"sender": sender, "message": message, "metadata": metadata},
                timeout=self._remaining(deadline),
            )
        response.raise_for_status()
        body = response.json()
        intent = body.get("intent") or {}
        return DialogueTurn(
            replies=[
                Reply(text=item.get("text"), custom=item.get("custom") or {})
                for item in body["messages"]
            ],
            slots=dict(body.get("slots") or {}),
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
        )
