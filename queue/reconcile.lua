-- Bring a queue's keys in line with the languages it serves now: run once per queue by
-- each process when it starts (and again when a call is found in a language the queue no
-- longer serves). Idempotent, and when nothing needs doing it only reads (and records the
-- languages). Nobody's count of people ahead rises, nor does anyone move in arrival order:
--   * a caller in a language the queue no longer serves joins the default language the way
--     a change of language mid-call does (same ticket, marked as switched, so the default
--     language's callers already waiting do not count them);
--   * a caller from before the queue had languages (no language in the ticket) joins the
--     default on a queue with one language, again as a change, and on a queue with several
--     joins the callers still choosing (the app offers them the language menu), marked in
--     every language's switched set so the callers already waiting do not count them;
--   * an entry of a served language's set with no such caller or agent behind it (left
--     there while the language was not served) is removed;
--   * an agent from before agents had languages speaks the default; each available agent is
--     in the idle set of each served language they speak, and only there;
--   * the sets of the languages no longer served are deleted.
-- KEYS: the queue's keys for the languages it serves (see _common.lua), then the four keys
--   (line, ready, switched, idle) of each retired language, in the order of ARGV[1]; on a
--   queue serving one language (SOLE), then the line and ready set that language had of
--   its own while the queue served several: deleted, the queue's own serving instead
-- ARGV: retired (comma-separated codes the queue served before and serves no more),
--   languages
-- Returns: {outcome, moved, placed, removed, agents, unknown}
--   outcome: 'done' | 'stale' (a language in use or recorded as served was not passed as
--            retired: nothing was changed; call again with `unknown` added)
--   moved: callers moved from a retired language into the default
--   placed: callers without a language given the default or put with those choosing
--   removed: tickets or set entries that had no place where they were
--   agents: agents given the default language, or whose idle entries were put right
--   unknown: comma-separated codes in use that were not passed ('' when done)
local RETIRED_KEYS = {}
local retired = {}
do
  local i = 0
  for code in string.gmatch(ARGV[1], '[^,]+') do
    local base = QUEUE_KEYS + 4 * #LANGS + 4 * i
    retired[#retired + 1] = code
    RETIRED_KEYS[code] = {KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4]}
    i = i + 1
  end
end
local DEFAULT = LANGS[1]
local MULTILINGUAL = #LANGS > 1

local function has(key, member)
  return redis.call('ZSCORE', key, member) ~= false
end

-- Every language in use must have its keys here before anything changes.
local unknown, noted = {}, {}
local function note(code)
  if code and code ~= '' and not LANG_KEYS[code] and not RETIRED_KEYS[code]
      and not noted[code] then
    noted[code] = true
    unknown[#unknown + 1] = code
  end
end
for _, code in ipairs(redis.call('SMEMBERS', K_SERVED)) do note(code) end
local line = redis.call('ZRANGE', K_LINE, 0, -1)
local records = {}
for _, ticket in ipairs(line) do
  local rec = load_ticket(ticket)
  records[ticket] = rec or false
  if rec then note(rec.language) end
end
if #unknown > 0 then
  return {'stale', 0, 0, 0, 0, table.concat(unknown, ',')}
end

local moved, placed, removed, agents = 0, 0, 0, 0

-- Remove a ticket from the sets of every served language but `keep`.
local function leave_other_languages(ticket, keep)
  for _, code in ipairs(LANGS) do
    if code ~= keep then
      local keys = LANG_KEYS[code]
      removed = removed + redis.call('ZREM', keys.line, ticket)
        + redis.call('ZREM', keys.ready, ticket)
      if keep then removed = removed + redis.call('ZREM', keys.switched, ticket) end
    end
  end
end

-- Callers in arrival order, so the stamps given here follow it too.
for _, ticket in ipairs(line) do
  local rec = records[ticket]
  local language = rec and rec.language ~= '' and rec.language or nil
  local target = language and DEFAULT
  if language and LANG_KEYS[language] then target = language end
  if not language and not MULTILINGUAL then target = DEFAULT end
  if not rec then
    forget_ticket(ticket, nil)
    redis.call('ZREM', K_UNDECIDED, ticket)
    removed = removed + 1
  elseif target then
    local keys = LANG_KEYS[target]
    local undecided = redis.call('ZREM', K_UNDECIDED, ticket) == 1
    local changed = false
    if language ~= target then
      if language then moved = moved + 1 else placed = placed + 1 end
      rec.language = target
      changed = true
    end
    -- Joining the language's line: not in it yet, or (SOLE: the queue's own line is the
    -- language's) coming from another language or none.
    if not has(keys.line, ticket) or (SOLE and language ~= target) then
      if not changed then removed = removed + 1 end
      rec.joined_stamp = next_stamp()
      changed = true
      redis.call('ZADD', keys.line, ticket, ticket)
      -- Counted by every caller already waiting only if they were undecided (or, SOLE,
      -- had no language: the queue's own line counted them); otherwise marked as
      -- switched, so callers who did not count them still do not.
      if not undecided and not (SOLE and not language) then
        redis.call('ZADD', keys.switched, rec.joined_stamp, ticket)
      end
    end
    if changed then save_ticket(ticket, rec) end
    if (rec.state == 'waiting' or rec.state == 'callback') and has(K_READY, ticket) then
      redis.call('ZADD', keys.ready, ticket, ticket)
    else
      removed = removed + redis.call('ZREM', keys.ready, ticket)
    end
    leave_other_languages(ticket, target)
  else
    -- Several languages and none chosen: with the callers still choosing.
    if not has(K_UNDECIDED, ticket) then
      redis.call('ZADD', K_UNDECIDED, ticket, ticket)
      local stamp = next_stamp()
      for _, code in ipairs(LANGS) do
        redis.call('ZADD', LANG_KEYS[code].switched, stamp, ticket)
      end
      placed = placed + 1
    end
    leave_other_languages(ticket, nil)
  end
end

-- Entries with no caller of that language behind them (a ticket that ended while its
-- language was not served leaves them behind).
local function ticket_of(ticket)
  local rec = records[ticket]
  if rec == nil then rec = load_ticket(ticket) or false end
  return rec
end
for _, ticket in ipairs(redis.call('ZRANGE', K_READY, 0, -1)) do
  if not ticket_of(ticket) or not has(K_LINE, ticket) then
    removed = removed + redis.call('ZREM', K_READY, ticket)
  end
end
for _, ticket in ipairs(redis.call('ZRANGE', K_UNDECIDED, 0, -1)) do
  local rec = ticket_of(ticket)
  if not rec or (rec.language and rec.language ~= '') or not has(K_LINE, ticket) then
    removed = removed + redis.call('ZREM', K_UNDECIDED, ticket)
  end
end
for _, code in ipairs(LANGS) do
  local keys = LANG_KEYS[code]
  for _, ticket in ipairs(redis.call('ZRANGE', keys.line, 0, -1)) do
    local rec = ticket_of(ticket)
    if not rec or rec.language ~= code or not has(K_LINE, ticket) then
      removed = removed + redis.call('ZREM', keys.line, ticket)
    end
  end
  for _, ticket in ipairs(redis.call('ZRANGE', keys.ready, 0, -1)) do
    if not has(keys.line, ticket) then
      removed = removed + redis.call('ZREM', keys.ready, ticket)
    end
  end
  for _, ticket in ipairs(redis.call('ZRANGE', keys.switched, 0, -1)) do
    if not has(keys.line, ticket) and not has(K_UNDECIDED, ticket) then
      removed = removed + redis.call('ZREM', keys.switched, ticket)
    end
  end
end

-- Agents: each with languages, and in exactly the idle sets their state and languages say.
local flat = redis.call('HGETALL', K_AGENTS)
for i = 1, #flat, 2 do
  local agent, rec = flat[i], cjson.decode(flat[i + 1])
  local available = rec.state == 'available'
  local wrong = rec.languages == nil or (available and not rec.idle_since)
    or has(K_IDLE, agent) ~= available
  for _, code in ipairs(LANGS) do
    if has(LANG_KEYS[code].idle, agent) ~= (available and speaks(rec, code)) then wrong = true end
  end
  if wrong then
    rec.languages = rec.languages or {DEFAULT}
    if available and not rec.idle_since then
      rec.idle_since = tonumber(redis.call('ZSCORE', K_IDLE, agent)) or rec.since or 0
    end
    save_agent(agent, rec)
    agents = agents + 1
  end
end
local function drop_idle(key, code)
  for _, agent in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local rec = load_agent(agent)
    if rec.state ~= 'available' or (code and not speaks(rec, code)) then
      agents = agents + redis.call('ZREM', key, agent)
    end
  end
end
drop_idle(K_IDLE, nil)
for _, code in ipairs(LANGS) do drop_idle(LANG_KEYS[code].idle, code) end

for _, code in ipairs(retired) do
  redis.call('DEL', unpack(RETIRED_KEYS[code]))
end
if SOLE then
  local base = QUEUE_KEYS + 4 * #LANGS + 4 * #retired
  redis.call('DEL', KEYS[base + 1], KEYS[base + 2])
end
redis.call('SADD', K_SERVED, unpack(LANGS))
if #retired > 0 then redis.call('SADD', K_SERVED, unpack(retired)) end
return {'done', moved, placed, removed, agents, ''}
