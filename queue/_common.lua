-- Shared by every queue script (the app prepends this file to each one).
--
-- All keys of one queue carry the same hash tag, e.g. cq:{support}:line, and arrive in KEYS
-- in this order; no script builds a key name, so a queue fits one Redis Cluster slot.
local K_SEQ        = KEYS[1]  -- string: last ticket number handed out (monotonic)
local K_LINE       = KEYS[2]  -- zset ticket -> ticket: everyone who counts as "ahead"
                              --   (waiting, offered to an agent, held after a drop)
local K_READY      = KEYS[3]  -- zset ticket -> ticket: waiting and connected, can be offered
local K_TICKETS    = KEYS[4]  -- hash ticket -> JSON {sid, caller, state, joined_at, ...}
                              --   (state left out while 'waiting': load_ticket)
local K_CALLS      = KEYS[5]  -- hash CallSid -> ticket, for calls that hold a ticket now
local K_HELD       = KEYS[6]  -- hash caller number -> ticket held after a drop
local K_HELD_UNTIL = KEYS[7]  -- zset ticket -> deadline of the hold (epoch seconds)
local K_OFFERS     = KEYS[8]  -- zset ticket -> deadline of the offer to an agent (a lease)
local K_SERVING    = KEYS[9]  -- hash CallSid -> JSON {ticket, agent, joined_at, connected_at}
local K_HANDLED    = KEYS[10] -- list of JSON records of recent durations, newest first, for
                              --   the wait estimate (each has ended_at):
                              --   {seconds}  a conversation ended after this many seconds
                              --   {wrap}     an agent's wrap-up ended after this many seconds
local K_ENDED      = KEYS[11] -- zset CallSid -> when it ended: a late request for an ended
                              --   call must never take (or restore) a place
local K_AGENTS     = KEYS[12] -- hash agent id -> JSON {state, call_sid, since, idle_since}
                              --   state: available | offered | on_call | wrap_up | away
local K_IDLE       = KEYS[13] -- zset agent id -> idle since: the available agents, longest
                              --   idle first
local K_UNDECIDED  = KEYS[14] -- zset ticket -> ticket: in the line without a language yet
                              --   (the language menu): ahead of later callers of every language
local K_SERVED     = KEYS[15] -- set of language codes the queue serves or has served (kept by
                              --   reconcile.lua, so a language removed later is still found)
local K_CALLBACKS  = KEYS[16] -- hash number -> ticket of a callback asked for and not yet
                              --   made: one per number
local K_CALLBACK_DUE = KEYS[17] -- zset ticket -> when a callback whose last try failed may
                                --   be tried again (meanwhile it keeps its place, not ready)
local K_PATIENCE   = KEYS[18] -- hash "<5-minute bucket>:waited" -> seconds waited by callers who
                              --   left the line then (answered or not), "<bucket>:gone" ->
                              --   how many of them hung up unanswered: the abandonment rate's
                              --   two sums, kept by bucket so reading them costs the same
                              --   whatever the traffic
local K_INPUTS     = KEYS[19] -- string: a count bumped whenever what the wait estimate learns
                              --   from changes (durations, patience sums, agents): a wait poll
                              --   reuses a recent estimate while it has not moved
local QUEUE_KEYS   = 19       -- the queue's own keys, before each language's
-- Then four keys per language of the queue, in the order of the languages given as the
-- last ARGV of every script (comma-separated codes, the queue's default first):
--   line     zset ticket -> ticket: who counts as ahead in this language (waiting, offered,
--            held): a caller is in exactly one language's line, or in K_UNDECIDED
--   ready    zset ticket -> ticket: waiting and connected in this language: can be offered
--   switched zset ticket -> stamp: callers who changed to this language mid-call, with the
--            stamp of the change (see people_ahead)
--   idle     zset agent id -> idle since: the available agents who speak this language
-- A queue serving one language passes its own line and ready keys as that language's: its
-- callers are kept once (SOLE below), and a write to both is one write.
local LANGS = {}
local LANG_KEYS = {}
do
  local i = 0
  for code in string.gmatch(ARGV[#ARGV], '[^,]+') do
    local base = QUEUE_KEYS + 4 * i
    LANGS[#LANGS + 1] = code
    LANG_KEYS[code] = {
      line = KEYS[base + 1], ready = KEYS[base + 2],
      switched = KEYS[base + 3], idle = KEYS[base + 4],
    }
    i = i + 1
  end
end
local SOLE = #LANGS == 1 and LANG_KEYS[LANGS[1]].line == K_LINE

local HANDLED_KEEP = 500
local PATIENCE_BUCKET_SECONDS = 300
local ENDED_KEEP_SECONDS = 86400

-- Remember what the wait estimate learns from (see K_HANDLED).
local function note_handled(rec)
  redis.call('INCR', K_INPUTS)
  redis.call('LPUSH', K_HANDLED, cjson.encode(rec))
  redis.call('LTRIM', K_HANDLED, 0, HANDLED_KEEP - 1)
end

-- A caller leaves the line (answered or not) after waiting since they joined.
local function note_left_line(rec, now, answered)
  if not rec.joined_at then return end
  redis.call('INCR', K_INPUTS)
  local bucket = math.floor(now / PATIENCE_BUCKET_SECONDS)
  redis.call('HINCRBYFLOAT', K_PATIENCE, bucket .. ':waited', math.max(0, now - rec.joined_at))
  if not answered then
    redis.call('HINCRBY', K_PATIENCE, bucket .. ':gone', 1)
  end
end

-- The keys of a ticket's language; nil while the caller has not chosen one. A language the
-- queue no longer serves (the operator removed it while callers waited in it) has no keys
-- here either: such a caller keeps their place in the line and counts everyone ahead of
-- them, but is offered to nobody until reconcile.lua moves them into the default language
-- (the app runs it when it starts, and when it meets such a caller).
local function lang_keys(language)
  if not language or language == '' then return nil end
  return LANG_KEYS[language]
end

-- A stamp from the ticket counter: orders every joining of a language's line (arrivals
-- and choices alike), so a later choice always has a higher stamp.
local function next_stamp()
  return redis.call('INCR', K_SEQ)
end

-- Join the line: counted as ahead of later callers of this language (or, undecided, of
-- every language).
local function join_line(ticket, rec)
  redis.call('ZADD', K_LINE, ticket, ticket)
  local keys = lang_keys(rec.language)
  if keys then
    redis.call('ZADD', keys.line, ticket, ticket)
  else
    redis.call('ZADD', K_UNDECIDED, ticket, ticket)
  end
end

local function leave_language(ticket, rec)
  local keys = lang_keys(rec.language)
  if keys then
    redis.call('ZREM', keys.line, ticket)
    redis.call('ZREM', keys.ready, ticket)
    redis.call('ZREM', keys.switched, ticket)
  else
    redis.call('ZREM', K_UNDECIDED, ticket)
    -- An undecided caller put there by reconcile.lua is marked in every language's switched
    -- set (callers who never counted them still do not).
    for _, code in ipairs(LANGS) do
      redis.call('ZREM', LANG_KEYS[code].switched, ticket)
    end
  end
end

-- Ready to be offered (waiting on the line); an undecided caller is ready once they choose.
local function set_ready(ticket, rec, ready)
  local keys = lang_keys(rec.language)
  if ready then
    redis.call('ZADD', K_READY, ticket, ticket)
    if keys then redis.call('ZADD', keys.ready, ticket, ticket) end
  else
    redis.call('ZREM', K_READY, ticket)
    if keys then redis.call('ZREM', keys.ready, ticket) end
  end
end

-- A ticket is stored without its state while that is 'waiting', as most are: a line of
-- thousands keeps 18 bytes fewer each (and a smaller allocation).
local function load_ticket(ticket)
  local raw = redis.call('HGET', K_TICKETS, ticket)
  if not raw then return nil end
  local rec = cjson.decode(raw)
  rec.state = rec.state or 'waiting'
  return rec
end

local function save_ticket(ticket, rec)
  local state = rec.state
  if state == 'waiting' then rec.state = nil end
  redis.call('HSET', K_TICKETS, ticket, cjson.encode(rec))
  rec.state = state
end

-- Drop a ticket from every structure: the callers behind it move up.
local function forget_ticket(ticket, rec)
  redis.call('ZREM', K_LINE, ticket)
  redis.call('ZREM', K_READY, ticket)
  redis.call('ZREM', K_HELD_UNTIL, ticket)
  redis.call('ZREM', K_OFFERS, ticket)
  redis.call('ZREM', K_CALLBACK_DUE, ticket)
  redis.call('HDEL', K_TICKETS, ticket)
  if rec then
    leave_language(ticket, rec)
    if rec.callback_number and redis.call('HGET', K_CALLBACKS, rec.callback_number) == ticket then
      redis.call('HDEL', K_CALLBACKS, rec.callback_number)
    end
    if rec.sid and redis.call('HGET', K_CALLS, rec.sid) == ticket then
      redis.call('HDEL', K_CALLS, rec.sid)
    end
    if rec.caller ~= '' and redis.call('HGET', K_HELD, rec.caller) == ticket then
      redis.call('HDEL', K_HELD, rec.caller)
    end
  end
end

local function load_agent(agent)
  local raw = redis.call('HGET', K_AGENTS, agent)
  if not raw then return {state = 'away'} end
  return cjson.decode(raw)
end

local function speaks(rec, language)
  for _, code in ipairs(rec.languages or {}) do
    if code == language then return true end
  end
  return false
end

-- An agent's record keeps the languages they speak (given with every change of state), so
-- an available agent is in the idle set of each of those languages the queue serves.
local function save_agent(agent, rec)
  redis.call('INCR', K_INPUTS)
  redis.call('HSET', K_AGENTS, agent, cjson.encode(rec))
  local available = rec.state == 'available'
  if available then
    redis.call('ZADD', K_IDLE, rec.idle_since, agent)
  else
    redis.call('ZREM', K_IDLE, agent)
  end
  for _, code in ipairs(LANGS) do
    if available and speaks(rec, code) then
      redis.call('ZADD', LANG_KEYS[code].idle, rec.idle_since, agent)
    else
      redis.call('ZREM', LANG_KEYS[code].idle, agent)
    end
  end
end

-- Move an agent on from the call they were offered or took, but only if they still hold
-- that call (a late callback about an older call changes nothing). An agent going back to
-- available keeps the idle time they had, so a caller hanging up while it rang does not
-- send them to the back of the agents.
local function settle_agent(agent, sid, next_state, now)
  if not agent then return end
  local rec = load_agent(agent)
  if rec.call_sid ~= sid then return end
  local idle_since = rec.idle_since or now
  local languages = rec.languages or {}
  if next_state == 'available' then
    save_agent(agent, {
      state = 'available', since = now, idle_since = idle_since, languages = languages,
    })
  elseif next_state == 'wrap_up' then
    save_agent(agent, {state = 'wrap_up', since = now, call_sid = sid, languages = languages})
  else
    save_agent(agent, {state = next_state, since = now, languages = languages})
  end
end

-- A callback being made has no call of its own until Twilio names the outbound call; the
-- agent reserved for it holds this instead.
local function callback_ref(ticket)
  return 'callback:' .. ticket
end

-- The call an offer's agent holds: the caller's, or the callback's reference.
local function offered_call(ticket, rec)
  return rec.sid or callback_ref(ticket)
end

-- Is this ticket a callback still to be answered (no live caller behind it)?
local function is_pending_callback(rec)
  return rec.callback_number ~= nil and (rec.state == 'callback' or rec.state == 'callback_wait'
    or (rec.state == 'offered' and rec.callback_sid == rec.sid))
end

-- A callback's try is over without a conversation (a machine, busy, no answer, failed, or
-- never heard of again): the reserved agent is free at once, at their old place; the
-- ticket waits `retry_after` seconds, keeping its place, or after the last try is given
-- up. Returns 'retry' or 'given_up'.
local function callback_try_failed(ticket, rec, now, attempts, retry_after)
  settle_agent(rec.offered_to, offered_call(ticket, rec), 'available', now)
  if rec.sid then
    if redis.call('HGET', K_CALLS, rec.sid) == ticket then redis.call('HDEL', K_CALLS, rec.sid) end
    redis.call('ZADD', K_ENDED, now, rec.sid)
  end
  redis.call('ZREM', K_OFFERS, ticket)
  if (rec.callback_tries or 0) >= attempts then
    forget_ticket(ticket, rec)
    return 'given_up'
  end
  rec.state = 'callback_wait'
  rec.sid = nil
  rec.callback_sid = nil
  rec.offered_to = nil
  save_ticket(ticket, rec)
  set_ready(ticket, rec, false)
  redis.call('ZADD', K_CALLBACK_DUE, now + retry_after, ticket)
  return 'retry'
end

-- Holds past their deadline end; offers whose lease lapsed (a dead worker, a lost
-- callback) go back to the ready set at their own ticket, which is the front for them;
-- callbacks whose pause between tries is over are ready again.
-- Runs at the start of every script, with the caller's `now`, so no sweeper is needed.
local function expire_due(now)
  redis.call('ZREMRANGEBYSCORE', K_ENDED, '-inf', now - ENDED_KEEP_SECONDS)
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', K_HELD_UNTIL, '-inf', now)) do
    forget_ticket(ticket, load_ticket(ticket))
  end
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', K_OFFERS, '-inf', now)) do
    redis.call('ZREM', K_OFFERS, ticket)
    local rec = load_ticket(ticket)
    if rec and rec.state == 'offered' and is_pending_callback(rec) then
      -- A callback nobody heard the end of (the worker placing it died, or the outbound
      -- call's status was lost): not the agent's doing, who is free at once. A try that
      -- was placed was counted when placed (callback_placed.lua); one whose placing
      -- nobody reported may still have reached Twilio, so it waits the pause all the
      -- same, uncounted. Either way any call of that try is over before the next one
      -- rings: nobody is called twice at once (a late answer of the old try finds its
      -- offer over, and is hung up).
      callback_try_failed(ticket, rec, now, rec.callback_attempts or 1,
        rec.callback_retry_after or 0)
    elseif rec and rec.state == 'offered' then
      -- Rung and never answered, with nobody saying so: the agent is not at their desk.
      -- Never rung (the worker died before the call was moved): not their doing.
      settle_agent(rec.offered_to, rec.sid, rec.delivered and 'away' or 'available', now)
      rec.state = 'waiting'
      rec.offered_to = nil
      rec.delivered = nil
      save_ticket(ticket, rec)
      set_ready(ticket, rec, true)
    end
  end
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', K_CALLBACK_DUE, '-inf', now)) do
    redis.call('ZREM', K_CALLBACK_DUE, ticket)
    local rec = load_ticket(ticket)
    if rec and rec.state == 'callback_wait' then
      rec.state = 'callback'
      save_ticket(ticket, rec)
      set_ready(ticket, rec, true)
    end
  end
end

-- People ahead of a caller: those ahead of them in their language's line plus the undecided
-- ahead (who may yet choose it). An undecided caller counts everyone ahead, whatever their
-- language, so a choice only ever lowers a number. A caller who changed to this language
-- mid-call keeps their arrival order (they are served by ticket) but is not counted by
-- callers who had joined this language before the change, who were never told about them:
-- so a change of language never raises anyone else's number either.
local function people_ahead(ticket, rec)
  local keys = lang_keys(rec and rec.language)
  if not keys then
    return redis.call('ZRANK', K_LINE, ticket)
  end
  local before = '(' .. ticket
  local count = redis.call('ZCOUNT', keys.line, '-inf', before)
  if not SOLE then  -- the queue's own line counts the undecided already
    count = count + redis.call('ZCOUNT', K_UNDECIDED, '-inf', before)
  end
  local joined = rec.joined_stamp or tonumber(ticket)
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', keys.switched, '(' .. joined, '+inf')) do
    if tonumber(other) < tonumber(ticket) then count = count - 1 end
  end
  return count
end

-- Where a call stands now (position.lua, and snapshot.lua for a wait poll):
-- {state, people_ahead, line_length, ticket, joined_at, agent, language}, as position.lua
-- documents it.
local function where_is(sid)
  local line_length = redis.call('ZCARD', K_LINE)
  if sid == '' then
    return {'unknown', -1, line_length, -1, '', '', ''}
  end
  local serving = redis.call('HGET', K_SERVING, sid)
  if serving then
    local rec = cjson.decode(serving)
    return {
      'serving', -1, line_length, rec.ticket, tostring(rec.joined_at), rec.agent,
      rec.language or '',
    }
  end
  local ticket = redis.call('HGET', K_CALLS, sid)
  local rec = ticket and load_ticket(ticket)
  if not rec then
    return {'unknown', -1, line_length, -1, '', '', ''}
  end
  return {
    rec.state, people_ahead(ticket, rec), line_length, tonumber(ticket), tostring(rec.joined_at),
    rec.offered_to or '', rec.language or '',
  }
end
