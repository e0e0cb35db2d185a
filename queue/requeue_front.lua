-- The agent did not answer (no answer, busy, failed): the caller goes back at their own
-- ticket, ahead of everyone who came after them, never to the back.
-- ARGV: call_sid, now
-- Returns: {outcome, people_ahead}  outcome: 'requeued' | 'not_offered' | 'unknown'
local sid, now = ARGV[1], tonumber(ARGV[2])
expire_due(now)
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return {'unknown', -1}
end
if rec.state ~= 'offered' then
  return {'not_offered', people_ahead(ticket)}
end
rec.state = 'waiting'
rec.offered_to = nil
save_ticket(ticket, rec)
redis.call('ZREM', K_OFFERS, ticket)
redis.call('ZADD', K_READY, ticket, ticket)
return {'requeued', people_ahead(ticket)}
