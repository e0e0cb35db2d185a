-- Hand a waiting caller to an agent who speaks their language: the earliest ready caller
-- whose language some available agent speaks goes to the longest-idle available agent who
-- speaks it. Both are taken in one step, so two workers can never give one caller to two
-- agents, nor one agent two callers; within a language callers go strictly by arrival. The
-- caller is leased to the agent; the lease is settled by connect (answered), requeue_front
-- (no answer) or end_call (the caller hung up), and lapses back to the front on its own.
-- Held tickets and undecided callers are never offered; an offered caller still counts as
-- ahead of later callers until connected.
-- ARGV: now, lease_seconds, languages
-- Returns: {agent_id, call_sid, ticket, joined_at, language} or nil when no waiting caller
--   has an available agent who speaks their language
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_due(now)
local head, language, agent
for _, code in ipairs(LANGS) do
  local keys = LANG_KEYS[code]
  local first = redis.call('ZRANGE', keys.ready, 0, 0)[1]
  if first and (not head or tonumber(first) < tonumber(head)) then
    local speaker = redis.call('ZRANGE', keys.idle, 0, 0)[1]
    if speaker then
      head, language, agent = first, code, speaker
    end
  end
end
if not head then
  return nil
end
local agent_rec = load_agent(agent)
local rec = load_ticket(head)
set_ready(head, rec, false)
rec.state = 'offered'
rec.offered_to = agent
rec.offered_at = now
save_ticket(head, rec)
redis.call('ZADD', K_OFFERS, now + lease, head)
save_agent(agent, {
  state = 'offered', since = now, call_sid = rec.sid,
  idle_since = agent_rec.idle_since or now, languages = agent_rec.languages,
})
return {agent, rec.sid, tonumber(head), tostring(rec.joined_at), language}
