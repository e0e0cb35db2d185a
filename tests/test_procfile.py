"""The Procfile's web command, as honcho runs it: loopback unless asked, and no gunicorn
control socket (gunicorn 27 opens one at a fixed path in the home directory, so two web
processes on one host would clash)."""

from __future__ import annotations

import subprocess

from app.settings import REPO_ROOT


def expanded_web_command(env: dict[str, str]) -> str:
    line = next(
        line
        for line in (REPO_ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
        if line.startswith("web:")
    )
    command = line.removeprefix("web:").strip()
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
