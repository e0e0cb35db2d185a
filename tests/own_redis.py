"""A redis-server a test controls (pause it, kill it as a crash, start it again on the
same port and append-only file), for the promises that must survive Redis failing; and,
without persistence, the one the whole test session shares (conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.loopback import free_port


class OwnRedis:
    """A redis-server this test controls: pause, kill, start again (same port and data)."""

    def __init__(self, data_dir: Path, *, persistent: bool = True) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (scripts/test installs it)")
        self.binary = binary
        self.data_dir = data_dir
        # An append-only file synced on every write (a crash loses nothing acknowledged),
        # or no persistence at all.
        self.persistence = ["yes", "--appendfsync", "always"] if persistent else ["no"]
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--save",
                "",
                "--appendonly",
                *self.persistence,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        with self.control() as client:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.025)
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
        pytest.fail("redis-server did not start")

    def control(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def kill(self) -> None:
        """As a crash: SIGKILL, nothing flushed but what the append-only file already has."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def wipe(self) -> None:
        """Lose every file (start() then comes up empty)."""
        shutil.rmtree(self.data_dir)
        self.data_dir.mkdir()

    def pause(self, milliseconds: int = 60_000) -> None:
        """Every client's commands wait (a hung Redis). Redis 7.0 holds even CLIENT UNPAUSE
        back while paused, so a pause is only ever waited out (`wait_out_pause`)."""
        with self.control() as client:
            client.execute_command("CLIENT", "PAUSE", str(milliseconds), "ALL")

    def wait_out_pause(self) -> None:
        with self.control() as client:
            client.ping()  # answered when the pause ends

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
