-- The numbers the wait estimate and the operator need, read in one consistent moment.
-- ARGV: now, since (oldest ended_at of the K_HANDLED records to return), keep_durations
--   (return older records too until this many talk times and wrap-ups are in),
--   patience_since (the oldest moment the abandonment sums cover), languages
-- Returns: {line_length, ready, held, offered, serving, handled_json_list, agents_json, undecided, languages_json, callbacks, oldest_joined_at, waited, gone}
--   handled_json_list: the K_HANDLED records since `since` (and older ones of talk times
--     and wrap-ups, up to keep_durations of each), newest first
--   agents_json: {agent id: {state, since, languages}} for every agent who has signed in
--   undecided: callers in the line who have not chosen a language yet
--   languages_json: {language: {line, ready, oldest_joined_at}} for each language served
--   callbacks: callbacks asked for and not yet made (they count in the line and ready)
--   oldest_joined_at: when the first in the line joined ('' when nobody is)
--   waited, gone: since patience_since, seconds waited by callers who left the line and how
--     many of them hung up unanswered (buckets older than that are dropped)
local now, since, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local patience_since = tonumber(ARGV[4])
expire_due(now)
local handled = {}
local talks, wraps = 0, 0
for _, raw in ipairs(redis.call('LRANGE', K_HANDLED, 0, HANDLED_KEEP - 1)) do
  local rec = cjson.decode(raw)
  local old = rec.ended_at < since
  if old and talks >= keep and wraps >= keep then break end
  if not old or (rec.seconds and talks < keep) or (rec.wrap and wraps < keep) then
    handled[#handled + 1] = raw
  end
  if rec.seconds then talks = talks + 1 elseif rec.wrap then wraps = wraps + 1 end
end
local waited, gone = 0, 0
local first_bucket = math.floor(patience_since / PATIENCE_BUCKET_SECONDS)
local sums = redis.call('HGETALL', K_PATIENCE)
for i = 1, #sums, 2 do
  local bucket, kind = string.match(sums[i], '^(%d+):(%a+)$')
  if not bucket or tonumber(bucket) < first_bucket then
    redis.call('HDEL', K_PATIENCE, sums[i])
  elseif kind == 'waited' then
    waited = waited + tonumber(sums[i + 1])
  else
    gone = gone + tonumber(sums[i + 1])
  end
end
local agents = {}
local flat = redis.call('HGETALL', K_AGENTS)
for i = 1, #flat, 2 do
  local rec = cjson.decode(flat[i + 1])
  agents[flat[i]] = {state = rec.state, since = rec.since, languages = rec.languages or {}}
end
local oldest_joined_at = ''
local first = redis.call('ZRANGE', K_LINE, 0, 0)[1]
local first_rec = first and load_ticket(first)
if first_rec and first_rec.joined_at then oldest_joined_at = tostring(first_rec.joined_at) end
local by_language = {}
for _, code in ipairs(LANGS) do
  local head = redis.call('ZRANGE', LANG_KEYS[code].line, 0, 0)[1]
  local head_rec = head and load_ticket(head)
  by_language[code] = {
    line = redis.call('ZCARD', LANG_KEYS[code].line),
    ready = redis.call('ZCARD', LANG_KEYS[code].ready),
    oldest_joined_at = head_rec and head_rec.joined_at or cjson.null,
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
  tostring(waited),
  gone,
}
