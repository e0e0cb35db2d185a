-- The numbers the wait estimate and the operator need, read in one consistent moment.
-- ARGV: now, since (oldest ended_at of finished conversations to return)
-- Returns: {line_length, ready, held, offered, serving, handled_json_list, agents_json}
--   agents_json: {agent id: state} for every agent who has signed in
local now, since = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_due(now)
local handled = {}
for _, raw in ipairs(redis.call('LRANGE', K_HANDLED, 0, HANDLED_KEEP - 1)) do
  local rec = cjson.decode(raw)
  if rec.ended_at < since then break end
  handled[#handled + 1] = raw
end
local agents = {}
local flat = redis.call('HGETALL', K_AGENTS)
for i = 1, #flat, 2 do
  agents[flat[i]] = cjson.decode(flat[i + 1]).state
end
return {
  redis.call('ZCARD', K_LINE),
  redis.call('ZCARD', K_READY),
  redis.call('ZCARD', K_HELD_UNTIL),
  redis.call('ZCARD', K_OFFERS),
  redis.call('HLEN', K_SERVING),
  handled,
  cjson.encode(agents),
}
