-- Take a slot for a new call, or give back the one it already has.
-- ARGV: call_sid, caller (E.164, or '' when withheld), now, allow_new ('1' while open)
-- Returns: {ticket, people_ahead, outcome, previous_call_sid}
--   outcome: 'new' | 'existing' (retried webhook) | 'restored' (called back within grace)
--            | 'serving' (already with an agent: ticket and people_ahead are -1)
--            | 'closed' (no place to give back and new ones are not allowed now)
--            | 'ended' (this call has already ended: a late or replayed request)
-- Closed hours stop new arrivals only: a retried webhook or a held place still counts.
local sid, caller, now, allow_new = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
expire_due(now)

if redis.call('ZSCORE', K_ENDED, sid) then
  return {-1, -1, 'ended', ''}
end

if redis.call('HEXISTS', K_SERVING, sid) == 1 then
  return {-1, -1, 'serving', ''}
end

local ticket = redis.call('HGET', K_CALLS, sid)
if ticket and load_ticket(ticket) then
  return {tonumber(ticket), people_ahead(ticket), 'existing', ''}
end

if caller ~= '' then
  ticket = redis.call('HGET', K_HELD, caller)
  if ticket then
    local rec = load_ticket(ticket)
    local previous = rec.sid
    rec.sid = sid
    rec.state = 'waiting'
    rec.held_at = nil
    rec.restored = (rec.restored or 0) + 1
    save_ticket(ticket, rec)
    redis.call('HDEL', K_HELD, caller)
    redis.call('ZREM', K_HELD_UNTIL, ticket)
    redis.call('HSET', K_CALLS, sid, ticket)
    redis.call('ZADD', K_READY, ticket, ticket)
    return {tonumber(ticket), people_ahead(ticket), 'restored', previous}
  end
end

if allow_new ~= '1' then
  return {-1, -1, 'closed', ''}
end

ticket = tostring(redis.call('INCR', K_SEQ))
save_ticket(ticket, {sid = sid, caller = caller, state = 'waiting', joined_at = now})
redis.call('HSET', K_CALLS, sid, ticket)
redis.call('ZADD', K_LINE, ticket, ticket)
redis.call('ZADD', K_READY, ticket, ticket)
return {tonumber(ticket), people_ahead(ticket), 'new', ''}
