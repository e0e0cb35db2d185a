-- A caller who rang while the centre was closed asks to be called back at opening: a new
-- ticket, taken now, so these callbacks are served in the order they were asked for and
-- ahead of everyone who calls after opening. It waits, counted in the line but never
-- offered, until `not_before` (the opening), then is ready like any callback. One pending
-- callback per number.
-- ARGV: call_sid, caller (E.164 or ''), number (E.164), language, now, not_before, attempts,
--   retry_after_seconds, languages
-- Returns: {outcome, ticket}  outcome: 'booked' | 'taken' (that number already has one)
local sid, caller, number, language = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, not_before = tonumber(ARGV[5]), tonumber(ARGV[6])
local attempts, retry_after = tonumber(ARGV[7]), tonumber(ARGV[8])
expire_due(now)
local other = redis.call('HGET', K_CALLBACKS, number)
if other and load_ticket(other) then
  return {'taken', tonumber(other)}
end
local ticket = tostring(redis.call('INCR', K_SEQ))
-- Waited from the opening, not from the night before (the whisper and the estimate's
-- accuracy count from there).
local rec = {
  caller = caller, state = 'callback_wait', joined_at = not_before, language = language,
  callback_number = number, callback_tries = 0, callback_from = sid,
  callback_asked_at = now, callback_at_opening = true,
  callback_attempts = attempts, callback_retry_after = retry_after,
}
save_ticket(ticket, rec)
join_line(ticket, rec)
redis.call('HSET', K_CALLBACKS, number, ticket)
redis.call('ZADD', K_CALLBACK_DUE, not_before, ticket)
return {'booked', tonumber(ticket)}
