"""A real local Redis Cluster for the tests: 3 masters and 3 replicas (`redis-server
--cluster-enabled yes`, joined by `redis-cli --cluster create`) on free loopback ports, with
a short node timeout so a killed master's replica is promoted within seconds."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from app.cluster_client import ClosingRedisCluster
from bench.redis_server import free_cluster_port

NODE_TIMEOUT_MS = 1000
_WAIT_SECONDS = 30  # bounded waits for the cluster to form or fail over, not a speed test


class OwnCluster:
    def __init__(self, data_dir: Path) -> None:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            pytest.fail("redis-server and redis-cli are not installed (scripts/test installs them)")
        self.server, self.cli = server, cli
        self.data_dir = data_dir
        self.ports = [free_cluster_port() for _ in range(6)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """Any node's URL: the client learns the rest from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            node_dir = self.data_dir / str(port)
            node_dir.mkdir()
            self.processes[port] = subprocess.Popen(
                [
                    self.server,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--dir", str(node_dir),
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                    "--save", "",
                    "--appendonly", "no",
                    "--loglevel", "warning",
                ],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        for port in self.ports:
            self._until(lambda port=port: self._ask(port, "PING"), "a node to start")
        subprocess.run(
            [
                self.cli, "--cluster", "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas", "1", "--cluster-yes",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self._until(self._formed, "the cluster to form")

    def client(self) -> RedisCluster:
        return ClosingRedisCluster.from_url(self.url)

    def master_of(self, key: str) -> int:
        """The port of the master serving `key`'s slot now."""
        with self.client() as client:
            node = client.get_node_from_key(key)
            return int(node.port)

    def wait_until_replicated(self, master: int) -> None:
        """Until the master's replicas have every write it acknowledged (replication is
        asynchronous: a write not yet copied is lost if the master dies now)."""

        def caught_up() -> bool:
            with redis.Redis(port=master, socket_timeout=2) as node:
                info = node.info("replication")
            replicas = [info[k] for k in info if k.startswith("slave") and k[5:].isdigit()]
            offset = info["master_repl_offset"]
            return bool(replicas) and all(r["offset"] >= offset for r in replicas)

        self._until(caught_up, "the replicas to catch up")

    def kill(self, port: int) -> None:
        """As a crash: SIGKILL."""
        process = self.processes.pop(port)
        process.kill()
        process.wait(timeout=10)

    def wait_for_failover(self, key: str, old_master: int) -> int:
        """Until a replica serves `key`'s slot as master; returns its port."""
        living = next(port for port in self.ports if port in self.processes)
        slot = key_slot(key.encode())

        def promoted() -> bool:
            slots = self._ask(living, "CLUSTER", "SLOTS")
            for start, end, master, *_ in slots:  # type: ignore[attr-defined]
                if start <= slot <= end:
                    return int(master[1]) != old_master
            return False

        self._until(promoted, "a replica to be promoted")
        return self.master_of(key)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(timeout=10)
        self.processes.clear()

    def _ask(self, port: int, *command: str) -> object:
        with redis.Redis(port=port, socket_timeout=2) as node:
            return node.execute_command(*command)

    def _formed(self) -> bool:
        """Every slot served, and every replica in sync with its master (a replica that
        never synced refuses to take over)."""
        for port in self.processes:
            info = self._ask(port, "CLUSTER", "INFO").decode()  # type: ignore[attr-defined]
            if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                return False
            with redis.Redis(port=port, socket_timeout=2) as node:
                replication = node.info("replication")
            if replication["role"] == "slave" and replication["master_link_status"] != "up":
                return False
        return True

    def _until(self, condition: object, what: str) -> None:
        deadline = time.monotonic() + _WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                if condition():  # type: ignore[operator]
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"timed out waiting for {what}")
