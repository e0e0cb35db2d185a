-- A wait poll: where a call stands now, and whether what the wait estimate learns from has
-- changed since the poll's process last read it (so it reads the whole snapshot only then).
-- ARGV: call_sid, now, languages
-- Returns: {position, inputs}
--   position: as position.lua returns it
--   inputs: the count K_INPUTS holds ('0' before anything was counted)
local sid, now = ARGV[1], tonumber(ARGV[2])
expire_due(now)
return {where_is(sid), redis.call('GET', K_INPUTS) or '0'}
