-- An agent asks to be available (ready for the next caller) or away. An agent who is being
-- offered a caller or is on a call cannot change until that settles; leaving wrap-up is
-- what "available" or "away" does after a call.
-- ARGV: agent_id, wanted ('available' | 'away'), now
-- Returns: {outcome, state}  outcome: 'changed' | 'unchanged' | 'busy'
local agent, wanted, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
expire_due(now)
local rec = load_agent(agent)
if rec.state == 'offered' or rec.state == 'on_call' then
  return {'busy', rec.state}
end
if rec.state == wanted then
  return {'unchanged', rec.state}
end
if wanted == 'available' then
  save_agent(agent, {state = 'available', since = now, idle_since = now})
else
  save_agent(agent, {state = 'away', since = now})
end
return {'changed', wanted}
