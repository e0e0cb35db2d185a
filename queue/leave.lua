-- The caller chose to leave the queue (their question was answered): the place is given
-- up at once and everyone behind moves up.
-- ARGV: call_sid, now, languages
-- Returns: 'released' | 'unknown'
local sid, now = ARGV[1], tonumber(ARGV[2])
expire_due(now)
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return 'unknown'
end
if rec.state == 'offered' then
  settle_agent(rec.offered_to, sid, 'available', now)
end
note_left_line(rec, now, false)
forget_ticket(ticket, rec)
return 'released'
