-- Where an agent stands now (lapsed leases are settled first, so the answer is current).
-- ARGV: agent_id, now, languages
-- Returns: the agent's JSON record ({state, since, call_sid?}); state 'away' if never seen
local agent, now = ARGV[1], tonumber(ARGV[2])
expire_due(now)
return cjson.encode(load_agent(agent))
