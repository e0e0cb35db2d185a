"""The voice web process as the Procfile runs it (its gunicorn config and worker class), on
a free loopback port, for tests that need real worker processes."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from app.settings import REPO_ROOT
from bench.incoming_latency import procfile_command
from tests.loopback import free_port

START_SECONDS = 60


def procfile_worker_class() -> str:
    """The `--worker-class` of the Procfile's `web:` process."""
    command = procfile_command()
    found = re.search(r"--worker-class (\S+)", command)
    assert found, f"no --worker-class in the Procfile's web command: {command}"
    return found.group(1)


@contextmanager
def voice_web(env: dict[str, str], log_dir: Path, workers: int) -> Iterator[str]:
    """gunicorn serving the app with `env`; yields its base URL, stopped on exit."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("-c", "python:app.gunicorn_config", "--workers", str(workers)),
        *("--worker-class", procfile_worker_class()),
        *("--bind", f"127.0.0.1:{port}", "--no-control-socket", "app:create_app()"),
    ]
    log_path = log_dir / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=2).status_code < 500:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass  # not listening yet, or a worker still starting (a slow machine)
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)
