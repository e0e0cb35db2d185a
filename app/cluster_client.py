"""A Redis Cluster client whose close() closes every socket it opened."""

from __future__ import annotations

from redis.cluster import RedisCluster


class ClosingRedisCluster(RedisCluster):
    """RedisCluster that closes its nodes' pools on close().

    A client made with `from_url` gives each node a pool the node's client does not own, so
    redis-py's close() leaves those pools' connections open (redis-py 8.1). After a
    failover the nodes met while finding the new master hold such connections; they were
    closed only by the garbage collector, in an order that sometimes reports the socket as
    unclosed first."""

    def close(self) -> None:
        manager = getattr(self, "nodes_manager", None)  # unset if __init__ failed early
        nodes = [*manager.nodes_cache.values(), *manager.startup_nodes.values()] if manager else []
        super().close()
        for pool in {n.redis_connection.connection_pool for n in nodes if n.redis_connection}:
            pool.disconnect()
