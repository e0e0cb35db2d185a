"""The control API's client: how `python -m standin call` and `run` (and anything
else) drive callers and agents' phones in a running stand-in (`control.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from standin.control import CallView, LegView

ACTION_TIMEOUT_SECONDS = 60.0


class StandInUnavailable(Exception):
    """Nothing answers at the stand-in's address."""


class ControlError(Exception):
    """The stand-in refused or could not do what was asked; `call` is the call's view
    when the error concerns one."""

    def __init__(self, status: int, message: str, call: CallView | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.call = status, message, call


class ControlClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        url = f"{self.base_url}/sim{path}"
        try:
            response = self._session.request(
                method, url, json=json, params=params, timeout=timeout or self._timeout
            )
        except requests.ConnectionError as exc:
            raise StandInUnavailable(
                f"the Twilio stand-in is not running at {self.base_url} "
                "(start it with: .venv/bin/python -m standin serve)"
            ) from exc
        except requests.Timeout as exc:
            raise ControlError(504, f"the stand-in did not answer {method} {path} in time") from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ControlError(
                response.status_code, f"not the stand-in's control API at {url}"
            ) from exc
        if response.status_code >= 400:
            raise ControlError(response.status_code, body.get("error", "?"), body.get("call"))
        return body

    # -- the stand-in ---------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self._request("GET", "")

    def set_phone(self, address: str, answer: str, press: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"answer": answer}
        if press is not None:
            body["press"] = press
        return self._request("PUT", f"/phones/{address}", json=body)

    # -- calls ------------------------------------------------------------------------

    def place_call(self, from_: str, to: str) -> RemoteCall:
        """An inbound call; returns once it has parked (listening, with an agent, ended)."""
        body = self._request(
            "POST", "/calls", json={"from": from_, "to": to}, timeout=ACTION_TIMEOUT_SECONDS
        )
        return RemoteCall(self, body["call"], body["events"])

    def calls(self) -> list[CallView]:
        """The stand-in's calls, newest first (the app's outbound calls among them)."""
        views: list[CallView] = self._request("GET", "/calls")["calls"]
        return views

    def call(self, sid: str) -> RemoteCall:
        view = self._request("GET", f"/calls/{sid}")["call"]
        return RemoteCall(self, view, self.events(sid, 0)["events"])

    def view(self, sid: str, wait_for: str | None = None, timeout: float = 30.0) -> CallView:
        params = {"wait_for": wait_for, "timeout": timeout} if wait_for else None
        body = self._request("GET", f"/calls/{sid}", params=params, timeout=timeout + 10)
        view: CallView = body["call"]
        return view

    def events(self, sid: str, since: int, wait: float = 0.0) -> dict[str, Any]:
        return self._request(
            "GET",
            f"/calls/{sid}/events",
            params={"since": since, "wait": wait},
            timeout=wait + self._timeout,
        )

    def act(self, sid: str, action: str, **body: Any) -> dict[str, Any]:
        return self._request(
            "POST", f"/calls/{sid}/{action}", json=body, timeout=ACTION_TIMEOUT_SECONDS
        )


class RemoteCall:
    """A call in a running stand-in, as the person on it knows it: what they heard (every
    event, in order) and what the line is doing. Every method refreshes both."""

    def __init__(self, client: ControlClient, view: CallView, events: list[dict[str, Any]]) -> None:
        self.client = client
        self.sid: str = view["sid"]
        self.view = view
        self.events: list[dict[str, Any]] = list(events)

    @property
    def mark(self) -> int:
        """The number of events seen so far: `heard_since(mark)` is what came after."""
        return len(self.events)

    @property
    def state(self) -> str:
        return self.view["state"]

    @property
    def ended(self) -> bool:
        return self.view["state"] == "ended"

    @property
    def listening_for(self) -> list[str]:
        return self.view["listening_for"]

    @property
    def with_agent(self) -> str | None:
        return self.view["with_agent"]

    @property
    def agent(self) -> LegView | None:
        return self.view["agent"]

    @property
    def heard(self) -> list[str]:
        return [e["text"] for e in self.events if e["kind"] == "heard"]

    def heard_since(self, mark: int) -> str:
        return " ".join(e["text"] for e in self.events[mark:] if e["kind"] == "heard")

    def refresh(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Fetch what happened since the last look (waiting up to `wait` seconds for
        something to happen); returns the new events."""
        body = self.client.events(self.sid, len(self.events), wait)
        new: list[dict[str, Any]] = body["events"]
        self.view = body["call"]
        self.events.extend(new)
        return new

    def _act(self, action: str, **body: Any) -> list[dict[str, Any]]:
        mark = len(self.events)
        try:
            self.view = self.client.act(self.sid, action, **body)["call"]
        except ControlError as exc:
            if exc.call is not None:
                self.view = exc.call
            self.refresh()
            raise
        self.refresh()
        return self.events[mark:]

    def say(self, text: str, confidence: float = 0.92) -> list[dict[str, Any]]:
        return self._act("say", text=text, confidence=confidence)

    def press(self, digits: str) -> list[dict[str, Any]]:
        return self._act("press", digits=digits)

    def stay_silent(self) -> list[dict[str, Any]]:
        return self._act("silence")

    def hang_up(self) -> list[dict[str, Any]]:
        return self._act("hangup")

    def drop(self) -> list[dict[str, Any]]:
        return self._act("drop")

    def agent_hang_up(self) -> list[dict[str, Any]]:
        return self._act("agent/hangup")

    def wait_for(self, state: str, timeout: float) -> None:
        """Until the call is `state` (listening, ringing, with_agent, ended, settled);
        ControlError 408 if it is not within `timeout` seconds."""
        try:
            self.view = self.client.view(self.sid, state, timeout)
        finally:
            self.refresh()
