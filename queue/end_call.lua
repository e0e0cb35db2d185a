-- The call ended (Twilio's status callback). Idempotent: a repeated or unknown CallSid
-- changes nothing.
-- ARGV: call_sid, now, grace_period_seconds, languages
-- Returns: outcome
--   'finished'  the conversation with an agent ended (its length is recorded)
--   'held'      dropped before service: the ticket is kept until now + grace
--   'released'  dropped before service with a withheld number: nothing can restore it
--   'callback'  hung up after asking for a callback: the ticket waits for its turn
--   'unknown'   not a call this queue holds (already ended, or never queued)
local sid, now, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
expire_due(now)
redis.call('ZADD', K_ENDED, now, sid)

local serving = redis.call('HGET', K_SERVING, sid)
if serving then
  local rec = cjson.decode(serving)
  redis.call('HDEL', K_SERVING, sid)
  settle_agent(rec.agent, sid, 'wrap_up', now)
  note_handled({ended_at = now, seconds = math.max(0, now - rec.connected_at)})
  return 'finished'
end

local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec or rec.sid ~= sid then
  return 'unknown'
end

-- Hung up while an agent's phone rang: the agent is free again, at their old place.
if rec.state == 'offered' then
  settle_agent(rec.offered_to, sid, 'available', now)
end

-- A caller who asked to be called back hangs up (as told to, or while being put
-- through): the ticket keeps its place without a call, ready to be called in its turn.
if rec.callback_number and rec.callback_sid ~= sid then
  redis.call('HDEL', K_CALLS, sid)
  rec.sid = nil
  rec.offered_to = nil
  rec.state = 'callback'
  save_ticket(ticket, rec)
  redis.call('ZREM', K_OFFERS, ticket)
  set_ready(ticket, rec, true)
  return 'callback'
end

-- Gone unanswered, as far as the wait estimate knows (coming back within the grace period
-- restores the place all the same).
if not rec.callback_number then
  note_left_line(rec, now, false)
end

if rec.caller == '' or grace <= 0 then
  forget_ticket(ticket, rec)
  return 'released'
end

-- One held place per number: if this number already holds an earlier ticket, that one is
-- the better place and this one goes.
local already = redis.call('HGET', K_HELD, rec.caller)
if already and already ~= ticket then
  if tonumber(already) < tonumber(ticket) then
    forget_ticket(ticket, rec)
    return 'released'
  end
  forget_ticket(already, load_ticket(already))
end

rec.state = 'held'
rec.held_at = now
rec.offered_to = nil
save_ticket(ticket, rec)
set_ready(ticket, rec, false)
redis.call('ZREM', K_OFFERS, ticket)
redis.call('HDEL', K_CALLS, sid)
redis.call('HSET', K_HELD, rec.caller, ticket)
redis.call('ZADD', K_HELD_UNTIL, now + grace, ticket)
return 'held'
