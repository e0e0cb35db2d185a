-- An agent asks to be available (ready for the next caller) or away. An agent who is being
-- offered a caller or is on a call cannot change until that settles; leaving wrap-up is
-- what "available" or "away" does after a call. The languages the agent speaks come with
-- every change (the agents file may have changed since), so dispatch offers them only
-- callers who chose one of those.
-- ARGV: agent_id, wanted ('available' | 'away'), now, agent_languages (comma-separated),
--   languages
-- Returns: {outcome, state}  outcome: 'changed' | 'unchanged' | 'busy'
local agent, wanted, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local spoken = {}
for code in string.gmatch(ARGV[4], '[^,]+') do spoken[#spoken + 1] = code end
expire_due(now)
local rec = load_agent(agent)
if rec.state == 'offered' or rec.state == 'on_call' then
  return {'busy', rec.state}
end
-- Back to taking calls after a wrap-up: its length feeds the wait estimate (going away
-- instead ends a shift or starts a break, which says nothing about wrap-ups).
if rec.state == 'wrap_up' and rec.since and wanted == 'available' then
  note_handled({ended_at = now, wrap = math.max(0, now - rec.since)})
end
local same_languages = cjson.encode(rec.languages or {}) == cjson.encode(spoken)
if rec.state == wanted and same_languages then
  return {'unchanged', rec.state}
end
if wanted == 'available' then
  -- An agent already available whose languages changed keeps their idle time.
  local idle_since = rec.state == 'available' and rec.idle_since or now
  save_agent(agent, {
    state = 'available', since = rec.state == wanted and rec.since or now,
    idle_since = idle_since, languages = spoken,
  })
else
  save_agent(agent, {state = 'away', since = rec.state == wanted and rec.since or now,
    languages = spoken})
end
return {rec.state == wanted and 'unchanged' or 'changed', wanted}
