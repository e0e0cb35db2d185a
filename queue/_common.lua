-- Shared by every queue script (the app prepends this file to each one).
--
-- All keys of one queue carry the same hash tag, e.g. cq:{support}:line, and arrive in KEYS
-- in this order; no script builds a key name, so a queue fits one Redis Cluster slot.
local K_SEQ        = KEYS[1]  -- string: last ticket number handed out (monotonic)
local K_LINE       = KEYS[2]  -- zset ticket -> ticket: everyone who counts as "ahead"
                              --   (waiting, offered to an agent, held after a drop)
local K_READY      = KEYS[3]  -- zset ticket -> ticket: waiting and connected, can be offered
local K_TICKETS    = KEYS[4]  -- hash ticket -> JSON {sid, caller, state, joined_at, ...}
local K_CALLS      = KEYS[5]  -- hash CallSid -> ticket, for calls that hold a ticket now
local K_HELD       = KEYS[6]  -- hash caller number -> ticket held after a drop
local K_HELD_UNTIL = KEYS[7]  -- zset ticket -> deadline of the hold (epoch seconds)
local K_OFFERS     = KEYS[8]  -- zset ticket -> deadline of the offer to an agent (a lease)
local K_SERVING    = KEYS[9]  -- hash CallSid -> JSON {ticket, agent, joined_at, connected_at}
local K_HANDLED    = KEYS[10] -- list of JSON {ended_at, seconds}: recent finished conversations
local K_ENDED      = KEYS[11] -- zset CallSid -> when it ended: a late request for an ended
                              --   call must never take (or restore) a place
local K_AGENTS     = KEYS[12] -- hash agent id -> JSON {state, call_sid, since, idle_since}
                              --   state: available | offered | on_call | wrap_up | away
local K_IDLE       = KEYS[13] -- zset agent id -> idle since: the available agents, longest
                              --   idle first (dispatch takes the first)

local HANDLED_KEEP = 500
local ENDED_KEEP_SECONDS = 86400

local function load_ticket(ticket)
  local raw = redis.call('HGET', K_TICKETS, ticket)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function save_ticket(ticket, rec)
  redis.call('HSET', K_TICKETS, ticket, cjson.encode(rec))
end

-- Drop a ticket from every structure: the callers behind it move up.
local function forget_ticket(ticket, rec)
  redis.call('ZREM', K_LINE, ticket)
  redis.call('ZREM', K_READY, ticket)
  redis.call('ZREM', K_HELD_UNTIL, ticket)
  redis.call('ZREM', K_OFFERS, ticket)
  redis.call('HDEL', K_TICKETS, ticket)
  if rec then
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

local function save_agent(agent, rec)
  redis.call('HSET', K_AGENTS, agent, cjson.encode(rec))
  if rec.state == 'available' then
    redis.call('ZADD', K_IDLE, rec.idle_since, agent)
  else
    redis.call('ZREM', K_IDLE, agent)
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
  if next_state == 'available' then
    save_agent(agent, {state = 'available', since = now, idle_since = idle_since})
  elseif next_state == 'wrap_up' then
    save_agent(agent, {state = 'wrap_up', since = now, call_sid = sid})
  else
    save_agent(agent, {state = next_state, since = now})
  end
end

-- Holds past their deadline end; offers whose lease lapsed (a dead worker, a lost
-- callback) go back to the ready set at their own ticket, which is the front for them.
-- Runs at the start of every script, with the caller's `now`, so no sweeper is needed.
local function expire_due(now)
  redis.call('ZREMRANGEBYSCORE', K_ENDED, '-inf', now - ENDED_KEEP_SECONDS)
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', K_HELD_UNTIL, '-inf', now)) do
    forget_ticket(ticket, load_ticket(ticket))
  end
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', K_OFFERS, '-inf', now)) do
    redis.call('ZREM', K_OFFERS, ticket)
    local rec = load_ticket(ticket)
    if rec and rec.state == 'offered' then
      -- The agent never answered and nobody said so: they are not at their desk.
      settle_agent(rec.offered_to, rec.sid, 'away', now)
      rec.state = 'waiting'
      rec.offered_to = nil
      save_ticket(ticket, rec)
      redis.call('ZADD', K_READY, ticket, ticket)
    end
  end
end

local function people_ahead(ticket)
  return redis.call('ZRANK', K_LINE, ticket)
end
