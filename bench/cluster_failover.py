"""What a Redis Cluster failover loses, measured: callers take places back to back (the queue's
real take_slot script through a cluster client); the master serving the queue's slot is
killed mid-stream; once its replica is promoted, every place that was acknowledged is
looked up. Replication is asynchronous, so places acknowledged in the moment before the
kill may be gone. Writes refused while no master serves the slot are counted apart (the
caller is told to hold and the app tries again: app/outage.py).

    .venv/bin/python -m bench.cluster_failover [--rounds 5] [--writers 8]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import redis

from app.cluster_client import ClosingRedisCluster
from app.queue_service import CallState, QueueService
from app.settings import load_operator_config
from standin import new_call_sid
from tests.own_cluster import OwnCluster

QUEUE_DIR = Path(__file__).resolve().parent.parent / "queue"
KEY = "cq:{support}:line"


def one_round(seed: int, writers: int) -> dict[str, float]:
    config = load_operator_config(QUEUE_DIR / "operator.yml", QUEUE_DIR / "queues.yml")
    support = config.queue_named("support")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as data:
        cluster = OwnCluster(Path(data))
        cluster.start()
        try:
            client = ClosingRedisCluster.from_url(cluster.url, socket_timeout=1)
            service = QueueService(client, clock=time.time)  # type: ignore[arg-type]
            acknowledged: list[tuple[str, float]] = []
            refused = 0
            kill_after = rng.uniform(1.0, 2.0)
            started = time.monotonic()
            master = cluster.master_of(KEY)
            killed_at: float | None = None
            lock = threading.Lock()

            def write() -> None:
                nonlocal refused
                while killed_at is None or time.monotonic() - killed_at < 8:
                    sid = new_call_sid()
                    try:
                        service.take_slot(support, sid, "")
                        with lock:
                            acknowledged.append((sid, time.monotonic()))
                    except redis.RedisError:
                        with lock:
                            refused += 1
                        time.sleep(0.05)

            threads = [threading.Thread(target=write) for _ in range(writers)]
            for thread in threads:
                thread.start()
            time.sleep(max(0.0, kill_after - (time.monotonic() - started)))
            killed_at = time.monotonic()
            cluster.kill(master)
            for thread in threads:
                thread.join()
            assert killed_at is not None
            lost = [
                (sid, at)
                for sid, at in acknowledged
                if service.position(support, sid).state is CallState.unknown
            ]
            before_kill = [at for _, at in acknowledged if at < killed_at]
            client.close()
            return {
                "acknowledged": len(acknowledged),
                "per_second": len(before_kill) / kill_after,
                "refused": refused,
                "lost": len(lost),
                "lost_window_ms": (killed_at - min(at for _, at in lost)) * 1000 if lost else 0.0,
            }
        finally:
            cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writers", type=int, default=8, help="callers arriving at once")
    args = parser.parse_args()
    rounds = []
    for seed in range(1, args.rounds + 1):
        result = one_round(seed, args.writers)
        rounds.append(result)
        print(
            f"[{seed}/{args.rounds}] {result['acknowledged']:.0f} places acknowledged"
            f" ({result['per_second']:.0f}/s before the kill), {result['refused']:.0f} refused"
            f" during the failover, {result['lost']:.0f} acknowledged and lost"
            f" (the last {result['lost_window_ms']:.0f} ms before the kill)",
            flush=True,
        )
    lost = [r["lost"] for r in rounds]
    print(
        f"lost per failover: median {statistics.median(lost):.0f}, max {max(lost):.0f};"
        f" window up to {max(r['lost_window_ms'] for r in rounds):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
