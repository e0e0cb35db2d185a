-- The caller would rather be called back than hold: their ticket stays exactly where it is
-- (counted ahead of later callers, offered in its turn like anyone waiting), with the
-- number to call. When their call ends, end_call.lua keeps the ticket as a callback
-- instead of holding it for the grace period. One pending callback per number.
-- ARGV: call_sid, number (E.164), now, attempts, retry_after_seconds (the queue's policy,
--   kept with the ticket), languages
-- Returns: {outcome, people_ahead}
--   outcome: 'requested' | 'not_waiting' (choosing a language, being put through, with an
--            agent) | 'taken' (that number already has a callback pending on another
--            ticket) | 'unknown'
local sid, number, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local attempts, retry_after = tonumber(ARGV[4]), tonumber(ARGV[5])
expire_due(now)
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return {'unknown', -1}
end
if (rec.state ~= 'waiting' and rec.state ~= 'callback') or not lang_keys(rec.language) then
  return {'not_waiting', people_ahead(ticket, rec)}
end
local other = redis.call('HGET', K_CALLBACKS, number)
if other and other ~= ticket then
  return {'taken', people_ahead(ticket, rec)}
end
if rec.callback_number and rec.callback_number ~= number
    and redis.call('HGET', K_CALLBACKS, rec.callback_number) == ticket then
  redis.call('HDEL', K_CALLBACKS, rec.callback_number)
end
rec.state = 'callback'
rec.callback_number = number
rec.callback_tries = rec.callback_tries or 0
rec.callback_asked_at = now
rec.callback_attempts = attempts
rec.callback_retry_after = retry_after
-- The call that asked: its context is what the agent sees when the callback is answered.
rec.callback_from = sid
save_ticket(ticket, rec)
redis.call('HSET', K_CALLBACKS, number, ticket)
return {'requested', people_ahead(ticket, rec)}
