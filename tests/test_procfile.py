"""The Procfile's web processes, as honcho runs them: Twilio's webhooks and the agent console
in separate processes (a flood of console sign-ins must not take callers' threads), loopback
unless asked, and no gunicorn control socket (gunicorn 27 opens one at a fixed path in the
home directory, so two web processes on one host would clash)."""

from __future__ import annotations

import subprocess

import pytest

from app import create_app
from app.settings import REPO_ROOT, Settings, WebRole


def expanded_web_command(env: dict[str, str], process: str = "web") -> str:
    line = next(
        line
        for line in (REPO_ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
        if line.startswith(f"{process}:")
    )
    command = line.removeprefix(f"{process}:").strip()
    result = subprocess.run(
        ["bash", "-c", f"printf '%s ' {command}"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_the_web_listens_on_loopback_unless_asked() -> None:
    assert "--bind 127.0.0.1:8000 " in expanded_web_command({})
    assert "--bind 0.0.0.0:8080 " in expanded_web_command({"WEB_BIND": "0.0.0.0", "PORT": "8080"})


def test_the_web_opens_no_control_socket() -> None:
    assert "--no-control-socket" in expanded_web_command({})
    assert "--no-control-socket" in expanded_web_command({}, "console")


def test_callers_and_the_console_are_served_by_separate_processes() -> None:
    web, console = expanded_web_command({}), expanded_web_command({}, "console")
    assert "--env WEB_ROLE=voice" in web and "--bind 127.0.0.1:8000 " in web
    assert "--env WEB_ROLE=console" in console and "--bind 127.0.0.1:8001 " in console


@pytest.mark.parametrize(
    ("role", "served", "not_served"),
    [
        (WebRole.voice, ["/voice/incoming", "/healthz"], ["/agent/sign-in", "/operator/"]),
        (WebRole.console, ["/agent/sign-in", "/healthz"], ["/voice/incoming", "/voice/wait"]),
        (WebRole.all, ["/voice/incoming", "/agent/sign-in", "/healthz"], []),
    ],
)
def test_each_web_role_serves_its_own_routes_only(
    settings: Settings, role: WebRole, served: list[str], not_served: list[str]
) -> None:
    app = create_app({"SETTINGS": settings.model_copy(update={"web_role": role})})
    try:
        routes = {rule.rule for rule in app.url_map.iter_rules()}
        assert set(served) <= routes
        assert not set(not_served) & routes
        assert app.test_client().post("/voice/incoming").status_code == (
            404 if role is WebRole.console else 403  # unsigned, where it is served
        )
    finally:
        app.extensions["queue_assistant"].close()
