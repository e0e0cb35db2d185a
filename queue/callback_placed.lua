-- Twilio accepted the outbound call of a callback offered to an agent: the call now stands
-- for the ticket (status callbacks and the answer find it by its CallSid) and the agent
-- holds it. Counts one try. Idempotent: the worker that placed the call and the call's
-- own first webhook (which may arrive first) both report it.
-- ARGV: ticket, offer_id, outbound_call_sid, agent_id, now, attempts, retry_after_seconds, languages
-- Returns: {outcome, origin_call_sid}
--   outcome: 'placed' | 'not_offered' (the offer lapsed or went elsewhere meanwhile: the
--   app hangs the call up)
--   origin_call_sid: the call that asked for the callback ('' if not placed)
local ticket, offer_id, sid, agent = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now, attempts, retry_after = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
expire_due(now)
local rec = load_ticket(ticket)
if not rec or rec.state ~= 'offered' or rec.offered_to ~= agent
    or rec.offer_id ~= offer_id then
  return {'not_offered', ''}
end
if rec.sid then
  if rec.sid == sid and rec.callback_sid == sid then
    return {'placed', rec.callback_from or ''}
  end
  return {'not_offered', ''}
end
local agent_rec = load_agent(agent)
if agent_rec.call_sid ~= callback_ref(ticket) then
  return {'not_offered', ''}
end
rec.sid = sid
rec.callback_sid = sid
rec.callback_tries = (rec.callback_tries or 0) + 1
-- The policy now in force settles the try, also when its lease lapses (see expire_due).
rec.callback_attempts = attempts
rec.callback_retry_after = retry_after
save_ticket(ticket, rec)
redis.call('HSET', K_CALLS, sid, ticket)
agent_rec.call_sid = sid
redis.call('INCR', K_INPUTS)
redis.call('HSET', K_AGENTS, agent, cjson.encode(agent_rec))
return {'placed', rec.callback_from or ''}
