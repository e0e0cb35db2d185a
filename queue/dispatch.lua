-- Hand the caller at the head of the queue to the agent who has been available longest:
-- both are taken in one step, so two workers can never give one caller to two agents, nor
-- one agent two callers. The caller is leased to the agent; the lease is settled by
-- connect (answered), requeue_front (no answer) or end_call (the caller hung up), and
-- lapses back to the front on its own. Held tickets are never offered; an offered caller
-- still counts as ahead of later callers until connected.
-- ARGV: now, lease_seconds
-- Returns: {agent_id, call_sid, ticket, joined_at} or nil when nobody is ready or no agent is
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_due(now)
local head = redis.call('ZRANGE', K_READY, 0, 0)[1]
if not head then
  return nil
end
local agent = redis.call('ZRANGE', K_IDLE, 0, 0)[1]
if not agent then
  return nil
end
local agent_rec = load_agent(agent)
local rec = load_ticket(head)
redis.call('ZREM', K_READY, head)
rec.state = 'offered'
rec.offered_to = agent
rec.offered_at = now
save_ticket(head, rec)
redis.call('ZADD', K_OFFERS, now + lease, head)
save_agent(agent, {
  state = 'offered', since = now, call_sid = rec.sid, idle_since = agent_rec.idle_since or now,
})
return {agent, rec.sid, tonumber(head), tostring(rec.joined_at)}
