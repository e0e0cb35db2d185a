-- Hand a waiting caller to an agent who speaks their language: the earliest ready caller
-- whose language some available agent speaks goes to the longest-idle available agent who
-- speaks it, passing over one who is the only available speaker of another language with
-- a caller ready (so a bilingual agent does not leave a caller only they can serve waiting
-- while a colleague sits idle); with nobody else, the longest-idle speaker takes the call.
-- Both are taken in one step, so two workers can never give one caller to two agents, nor
-- one agent two callers; within a language callers go strictly by arrival. The caller is
-- leased to the agent; the lease is settled by connect (answered), requeue_front (no
-- answer) or end_call (the caller hung up), and lapses back to the front on its own.
-- Held tickets and undecided callers are never offered; an offered caller still counts as
-- ahead of later callers until connected. A callback in its turn is offered like a
-- waiting caller (by ticket); the app then places the call (callback_placed.lua), and the
-- agent holds the callback's reference until Twilio names the call. A ready entry without a waiting caller of that
-- language behind it, or an idle entry whose agent is not available to speak it, is
-- dropped on the way (reconcile.lua puts such sets right as a whole).
-- ARGV: now, lease_seconds, callback_lease_seconds, languages
-- Returns: {agent_id, call_sid, ticket, joined_at, language, callback_number, offer_id} or
--   nil when no waiting caller has an available agent who speaks their language
--   call_sid: '' for a callback to place; callback_number: '' for a caller on the line
--   offer_id: this offer's own number (a later offer of the same ticket has another)
local now, lease, callback_lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
expire_due(now)

-- The first caller in this language's ready set who can be offered, and their record.
local function ready_head(code)
  local keys = LANG_KEYS[code]
  while true do
    local first = redis.call('ZRANGE', keys.ready, 0, 0)[1]
    if not first then return nil end
    local rec = load_ticket(first)
    local offerable = rec and (rec.state == 'waiting' or rec.state == 'callback')
    if offerable and SOLE and (rec.language or '') == '' then
      -- In the line without a language: put there by a process still running with an older
      -- queues.yml that gave this queue several. Its one language is theirs, as
      -- reconcile.lua would have it (counted by everyone while undecided, so not marked).
      redis.call('ZREM', K_UNDECIDED, first)
      rec.language = code
      rec.joined_stamp = next_stamp()
      save_ticket(first, rec)
    end
    if offerable and rec.language == code then
      return first, rec
    end
    redis.call('ZREM', keys.ready, first)
    if not rec then
      -- No ticket behind it: it holds no place anywhere.
      forget_ticket(first, nil)
      redis.call('ZREM', keys.line, first)
      redis.call('ZREM', keys.switched, first)
    end
  end
end

-- Up to `limit` available agents who speak this language, longest idle first.
local function idle_speakers(code, limit)
  local keys = LANG_KEYS[code]
  local found = {}
  for _, agent in ipairs(redis.call('ZRANGE', keys.idle, 0, -1)) do
    local rec = load_agent(agent)
    if rec.state == 'available' and speaks(rec, code) then
      found[#found + 1] = agent
      if limit and #found >= limit then break end
    else
      redis.call('ZREM', keys.idle, agent)
    end
  end
  return found
end

local heads = {}
local head, rec, language
for _, code in ipairs(LANGS) do
  local first, first_rec = ready_head(code)
  heads[code] = first
  if first and (not head or tonumber(first) < tonumber(head))
      and #idle_speakers(code, 1) > 0 then
    head, rec, language = first, first_rec, code
  end
end
if not head then
  return nil
end

-- Agents who are the only one free for another language's waiting caller.
local needed = {}
for _, code in ipairs(LANGS) do
  if code ~= language and heads[code] then
    local speakers = idle_speakers(code, 2)
    if #speakers == 1 then needed[speakers[1]] = true end
  end
end
local speakers = idle_speakers(language)
local agent = speakers[1]
for _, candidate in ipairs(speakers) do
  if not needed[candidate] then
    agent = candidate
    break
  end
end

local agent_rec = load_agent(agent)
-- A caller who asked for a callback and is still on the line is simply put through.
local placing = rec.state == 'callback' and not rec.sid
set_ready(head, rec, false)
rec.state = 'offered'
rec.offered_to = agent
rec.offered_at = now
rec.offer_id = next_stamp()
save_ticket(head, rec)
redis.call('ZADD', K_OFFERS, now + (placing and callback_lease or lease), head)
save_agent(agent, {
  state = 'offered', since = now, call_sid = offered_call(head, rec),
  idle_since = agent_rec.idle_since or now, languages = agent_rec.languages,
})
return {
  agent, rec.sid or '', tonumber(head), tostring(rec.joined_at), language,
  placing and rec.callback_number or '', rec.offer_id,
}
