-- The numbers the wait estimate and the operator need, read in one consistent moment.
-- ARGV: now, since (oldest ended_at of finished conversations to return), languages
-- Returns: {line_length, ready, held, offered, serving, handled_json_list, agents_json, undecided, languages_json, callbacks, oldest_joined_at}
--   agents_json: {agent id: {state, languages}} for every agent who has signed in
--   undecided: callers in the line who have not chosen a language yet
--   languages_json: {language: {line, ready}} for each language the queue serves
--   callbacks: callbacks asked for and not yet made (they count in the line and ready)
--   oldest_joined_at: when the first in the line joined ('' when nobody is)
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
  local rec = cjson.decode(flat[i + 1])
  agents[flat[i]] = {state = rec.state, languages = rec.languages or {}}
end
local oldest_joined_at = ''
local first = redis.call('ZRANGE', K_LINE, 0, 0)[1]
local first_rec = first and load_ticket(first)
if first_rec and first_rec.joined_at then oldest_joined_at = tostring(first_rec.joined_at) end
local by_language = {}
for _, code in ipairs(LANGS) do
  by_language[code] = {
    line = redis.call('ZCARD', LANG_KEYS[code].line),
    ready = redis.call('ZCARD', LANG_KEYS[code].ready),
  }
end
return {
  redis.call('ZCARD', K_LINE),
  redis.call('ZCARD', K_READY),
  redis.call('ZCARD', K_HELD_UNTIL),
  redis.call('ZCARD', K_OFFERS),
  redis.call('HLEN', K_SERVING),
  handled,
  cjson.encode(agents),
  redis.call('ZCARD', K_UNDECIDED),
  cjson.encode(by_language),
  redis.call('HLEN', K_CALLBACKS),
  oldest_joined_at,
}
