-- The agent answered: the call leaves the line and is in conversation.
-- ARGV: call_sid, agent_id, now, languages
-- Returns: {outcome, seconds_waited}
--   outcome: 'connected' | 'serving' (already connected) | 'not_offered' | 'unknown'
local sid, agent, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
expire_due(now)
if redis.call('HEXISTS', K_SERVING, sid) == 1 then
  return {'serving', '0'}
end
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return {'unknown', '0'}
end
if rec.state ~= 'offered' or rec.offered_to ~= agent then
  return {'not_offered', '0'}
end
note_left_line(rec, now, true)
forget_ticket(ticket, rec)
save_agent(agent, {
  state = 'on_call', since = now, call_sid = sid, languages = load_agent(agent).languages,
})
redis.call('HSET', K_SERVING, sid, cjson.encode({
  ticket = tonumber(ticket), agent = agent, joined_at = rec.joined_at, connected_at = now,
  language = rec.language,
}))
return {'connected', tostring(now - rec.joined_at)}
