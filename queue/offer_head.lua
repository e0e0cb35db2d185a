-- Offer the caller at the head of the queue to an agent: atomically take the earliest ready
-- ticket and lease it. Held tickets are never offered; an offered caller still counts as
-- ahead of later callers until connected.
-- ARGV: agent_id, now, lease_seconds
-- Returns: {ticket, call_sid, joined_at} or nil when nobody is ready
local agent, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
expire_due(now)
local head = redis.call('ZRANGE', K_READY, 0, 0)[1]
if not head then
  return nil
end
local rec = load_ticket(head)
redis.call('ZREM', K_READY, head)
rec.state = 'offered'
rec.offered_to = agent
rec.offered_at = now
save_ticket(head, rec)
redis.call('ZADD', K_OFFERS, now + lease, head)
return {tonumber(head), rec.sid, tostring(rec.joined_at)}
