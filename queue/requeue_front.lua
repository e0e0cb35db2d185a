-- The agent did not answer (no answer, busy, failed): the caller goes back at their own
-- ticket, ahead of everyone who came after them, never to the back.
-- ARGV: call_sid, agent_id (whose offer failed), now, agent_next: 'away' when the agent did
--   not answer (they are not at their desk), 'available' when the call could not be moved
--   to them at all (not the agent's doing), languages
-- Returns: {outcome, people_ahead}  outcome: 'requeued' | 'not_offered' | 'unknown'
-- A late no-answer from an agent whose lease already lapsed (the caller has since been
-- offered to someone else) changes nothing.
local sid, agent, now, agent_next = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
expire_due(now)
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return {'unknown', -1}
end
if rec.state ~= 'offered' or rec.offered_to ~= agent then
  return {'not_offered', people_ahead(ticket, rec)}
end
settle_agent(agent, sid, agent_next, now)
rec.state = 'waiting'
rec.offered_to = nil
rec.delivered = nil
save_ticket(ticket, rec)
redis.call('ZREM', K_OFFERS, ticket)
set_ready(ticket, rec, true)
return {'requeued', people_ahead(ticket, rec)}
