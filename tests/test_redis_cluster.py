"""The app on a real Redis Cluster (3 masters, 3 replicas, started here): the queue rules,
the voice webhooks and dispatch; then a master is killed, its replica promoted, and the
webhooks keep answering with every place kept. Jobs go to a plain Redis of their own."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest
import redis
import responses
from flask import Flask
from redis.cluster import RedisCluster
from redis.connection import Connection

from app import create_app
from app.bootstrap import Services
from app.queue_service import AgentState, CallState, QueueService
from app.settings import AppEnv, QueueSettings, Settings
from standin import FlaskClientTransport, SimulatedTwilio, new_call_sid
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLS_URL,
    PUBLIC_BASE_URL,
    SUPPORT_NUMBER,
    Clock,
)
from tests.own_cluster import OwnCluster
from tests.test_agent_console import Console, put_through

SUPPORT_SLOT_KEY = "cq:{support}:line"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnCluster]:
    own = OwnCluster(tmp_path_factory.mktemp("cluster"))
    own.start()
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture
def cluster_client(cluster: OwnCluster) -> Iterator[RedisCluster]:
    client = cluster.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def app_on_cluster(
    cluster: OwnCluster, cluster_client: RedisCluster, settings: Settings, clock: Clock
) -> Iterator[Flask]:
    """The tests' app with its queue on the cluster and its jobs on the plain Redis."""
    on_cluster = settings.model_copy(
        update={
            "redis_url": cluster.url,
            "redis_cluster": True,
            "jobs_redis_url": settings.redis_url,
        }
    )
    app = create_app({"SETTINGS": on_cluster, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["queue_assistant"].close()


def test_a_cluster_without_a_plain_redis_for_jobs_is_refused() -> None:
    with pytest.raises(ValueError, match="JOBS_REDIS_URL"):
        Settings(_env_file=None, app_env=AppEnv.development, redis_cluster=True)


def test_the_queue_rules_run_on_the_cluster(
    cluster_client: RedisCluster, support: QueueSettings, clock: Clock
) -> None:
    service = QueueService(cluster_client, clock=clock)  # type: ignore[arg-type]
    sids = [new_call_sid() for _ in range(3)]
    for i, sid in enumerate(sids):
        assert service.take_slot(support, sid, f"+1415555010{i}").people_ahead == i
    service.set_agent_state(support, "alice", AgentState.available)
    offer = service.dispatch(support, 30)
    assert offer is not None and offer.call_sid == sids[0]
    service.connect(support, sids[0], "alice")
    assert service.position(support, sids[1]).people_ahead == 0
    clock.advance(120)
    service.end_call(support, sids[0])
    assert service.snapshot(support).handle_times == [pytest.approx(120)]
    # A drop keeps the place; the same number within the grace period restores it.
    service.end_call(support, sids[1])
    again = new_call_sid()
    assert service.take_slot(support, again, "+14155550101").people_ahead == 0


def test_webhooks_and_dispatch_run_on_the_cluster_and_survive_a_failover(
    app_on_cluster: Flask,
    cluster: OwnCluster,
    cluster_client: RedisCluster,
    clock: Clock,
    redis_url: str,
) -> None:
    services: Services = app_on_cluster.extensions["queue_assistant"]
    support = services.config.queue_named("support")
    twilio = SimulatedTwilio(
        FlaskClientTransport(app_on_cluster.test_client()), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rest:
        rest.post(CALLS_URL, json={"sid": "CA" + "0" * 32, "status": "in-progress"})
        first = twilio.dial("+14155550101", SUPPORT_NUMBER)
        second = twilio.dial("+14155550102", SUPPORT_NUMBER)
        assert "There is 1 person ahead of you." in second.heard
        Console(app_on_cluster, "alice").set_state("available")
        # The dispatch job went to the plain Redis, not the cluster.
        with redis.Redis.from_url(redis_url) as jobs:
            assert jobs.keys("rq:*")
        put_through(twilio, services, support, rest, first, "alice")
        assert services.queue.position(support, first.sid).state is CallState.serving

        # Kill the master serving the queue's slot once its replica has every write.
        master = cluster.master_of(SUPPORT_SLOT_KEY)
        cluster.wait_until_replicated(master)
        started = time.monotonic()
        cluster.kill(master)
        promoted = cluster.wait_for_failover(SUPPORT_SLOT_KEY, master)
        assert promoted != master
        print(f"failover: replica promoted after {time.monotonic() - started:.1f} s")

        # The webhooks answer, and every place is where it was.
        second.stay_silent()
        assert services.queue.position(support, second.sid).people_ahead == 0
        third = twilio.dial("+14155550103", SUPPORT_NUMBER)
        assert "There is 1 person ahead of you." in third.heard
        assert services.queue.position(support, first.sid).state is CallState.serving
    twilio.close()
    # Closing the clients closes the connections made while finding the new master too
    # (redis-py's own close() leaves those to the garbage collector).
    services.redis.close()
    cluster_client.close()
    assert not open_connections_to(cluster.ports)


def open_connections_to(ports: list[int]) -> list[Connection]:
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, Connection) and o.port in ports and o.is_connected
    ]


def test_the_data_is_where_the_app_expects_it(cluster_client: RedisCluster) -> None:
    """Every key of a queue in one slot; a call's keys and an account's counts likewise."""
    assert cluster_client.keyslot("cq:{support}:line") == cluster_client.keyslot(
        "cq:{support}:patience"
    )
    assert cluster_client.keyslot("verification_failures:{10234567}") == cluster_client.keyslot(
        "verification_failures:{10234567}:+14155550101"
    )
