"""Throwaway redis-server processes: loopback, a free port, a temporary data directory, and
the persistence flags of scripts/redis-local so the figures are those of a local run."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

STARTUP_SECONDS = 10.0


@dataclass(frozen=True)
class RedisServer:
    port: int
    data_dir: Path
    appendfsync: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client with its own connection pool (thread-safe, one connection per thread)."""
        return redis.Redis(host="127.0.0.1", port=self.port)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port() -> int:
    """A free port whose Cluster bus port (10,000 higher) is free too, so at most 55535."""
    while True:
        port = random.randint(20_000, 55_000)
        if _bindable(port) and _bindable(port + 10_000):
            return port


def filesystem_type(path: Path) -> str:
    """ext4, xfs, tmpfs...: fsync costs depend on it (on tmpfs `always` would cost nothing)."""
    result = subprocess.run(
        ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True
    )
    return result.stdout.split()[-1]


def server_version() -> str:
    result = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=True
    )
    return result.stdout.split("v=", 1)[1].split()[0]


def _wait_until_up(process: subprocess.Popen[bytes], client: redis.Redis, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.02)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"redis-server did not start:\n{tail}")


@contextmanager
def redis_server(appendfsync: str, cluster: bool = False) -> Iterator[RedisServer]:
    """A fresh redis-server with `appendonly yes` and the given `appendfsync`, stopped (and
    its data directory removed) on exit; with `cluster`, a Cluster node owning no slots yet."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (scripts/setup installs it)")
    with tempfile.TemporaryDirectory(prefix=f"bench-redis-{appendfsync}-") as tmp:
        data_dir = Path(tmp)
        port = free_cluster_port() if cluster else free_port()
        server = RedisServer(port=port, data_dir=data_dir, appendfsync=appendfsync)
        log = data_dir / "redis.log"
        # Same persistence flags as scripts/redis-local; only the port, directory and log differ.
        command = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(server.port),
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--appendfsync", appendfsync,
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", str(log),
            "--loglevel", "warning",
        ]  # fmt: skip
        if cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = server.client()
        try:
            _wait_until_up(process, client, log)
            yield server
        finally:
            client.close()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
