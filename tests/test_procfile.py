"""The Procfile's web processes, as honcho runs them: Twilio's webhooks and the agent console
in separate processes (a flood of console sign-ins must not take callers' threads), loopback
unless asked, and no gunicorn control socket (gunicorn 27 opens one at a fixed path in the
home directory, so two web processes on one host would clash)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app import create_app
from app.settings import REPO_ROOT, Settings, WebRole
from bench.incoming_latency import procfile_command


def expanded_web_command(env: dict[str, str], process: str = "web") -> str:
    result = subprocess.run(
        ["bash", "-c", f"printf '%s ' {procfile_command(process)}"],
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


def test_the_voice_web_runs_gevent_workers_and_the_console_threads() -> None:
    # A turn waiting on Rasa holds a greenlet, not one of a few threads; the console's
    # password checks are CPU work that a greenlet would not yield from.
    assert "--worker-class gevent" in expanded_web_command({})
    assert "--worker-class gthread" in expanded_web_command({}, "console")


def test_gunicorns_master_imports_no_network_library_before_a_worker_patches() -> None:
    """gunicorn's master imports app.gunicorn_config before it forks; gevent patches only
    what is imported after, in each worker."""
    script = (
        "import sys, app.gunicorn_config; "
        "print(','.join(m for m in ('redis', 'requests', 'urllib3', 'twilio', 'flask')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
