-- Take a slot for a new call, or give back the one it already has.
-- ARGV: call_sid, caller (E.164, or '' when withheld), now, allow_new ('1' while open),
--   language (for a new place: the one it is served in, or '' when the caller is still to
--   choose; a restored place keeps its own), languages
-- Returns: {ticket, people_ahead, outcome, previous_call_sid, language}
--   outcome: 'new' | 'existing' (retried webhook) | 'restored' (called back within grace)
--            | 'callback_restored' (this number has a callback pending: the caller takes
--              its place on the line, the callback is off)
--            | 'callback_calling' (that callback is being made right now: no second place)
--            | 'serving' (already with an agent: ticket and people_ahead are -1)
--            | 'closed' (no place to give back and new ones are not allowed now)
--            | 'ended' (this call has already ended: a late or replayed request)
--   language: the place's language, '' while not chosen (or when there is no place)
-- Closed hours stop new arrivals only: a retried webhook or a held place still counts.
local sid, caller, now, allow_new = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local language = ARGV[5]
expire_due(now)

if redis.call('ZSCORE', K_ENDED, sid) then
  return {-1, -1, 'ended', '', ''}
end

if redis.call('HEXISTS', K_SERVING, sid) == 1 then
  return {-1, -1, 'serving', '', ''}
end

local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if rec then
  return {tonumber(ticket), people_ahead(ticket, rec), 'existing', '', rec.language or ''}
end

if caller ~= '' then
  ticket = redis.call('HGET', K_CALLBACKS, caller)
  rec = ticket and load_ticket(ticket)
  if rec and rec.state == 'offered' then
    return {tonumber(ticket), people_ahead(ticket, rec), 'callback_calling', '', rec.language or ''}
  end
  if rec and (rec.state == 'callback' or rec.state == 'callback_wait') then
    redis.call('HDEL', K_CALLBACKS, caller)
    redis.call('ZREM', K_CALLBACK_DUE, ticket)
    if rec.sid and redis.call('HGET', K_CALLS, rec.sid) == ticket then
      redis.call('HDEL', K_CALLS, rec.sid)
    end
    -- The call that asked for the callback: its context comes back with the place.
    local previous = rec.callback_from or rec.sid or ''
    rec.sid = sid
    rec.state = 'waiting'
    rec.callback_number = nil
    rec.callback_sid = nil
    save_ticket(ticket, rec)
    redis.call('HSET', K_CALLS, sid, ticket)
    set_ready(ticket, rec, true)
    return {tonumber(ticket), people_ahead(ticket, rec), 'callback_restored', previous,
      rec.language or ''}
  end
  ticket = redis.call('HGET', K_HELD, caller)
  if ticket then
    rec = load_ticket(ticket)
    local previous = rec.sid
    rec.sid = sid
    rec.state = 'waiting'
    rec.held_at = nil
    rec.restored = (rec.restored or 0) + 1
    save_ticket(ticket, rec)
    redis.call('HDEL', K_HELD, caller)
    redis.call('ZREM', K_HELD_UNTIL, ticket)
    redis.call('HSET', K_CALLS, sid, ticket)
    set_ready(ticket, rec, true)
    return {tonumber(ticket), people_ahead(ticket, rec), 'restored', previous, rec.language or ''}
  end
end

if allow_new ~= '1' then
  return {-1, -1, 'closed', '', ''}
end

ticket = tostring(redis.call('INCR', K_SEQ))
rec = {sid = sid, caller = caller, state = 'waiting', joined_at = now}
if language ~= '' then rec.language = language end
save_ticket(ticket, rec)
redis.call('HSET', K_CALLS, sid, ticket)
join_line(ticket, rec)
set_ready(ticket, rec, true)
return {tonumber(ticket), people_ahead(ticket, rec), 'new', '', language}
