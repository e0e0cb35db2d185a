-- A callback's outbound call did not reach the caller (a machine answered, busy, no
-- answer, failed, or Twilio refused to place it): the agent is free at once; the ticket
-- keeps its place and is tried again after the pause, or is given up after the last try.
-- Duplicated, late or out-of-order reports of an older try change nothing.
-- ARGV: ticket, offer_id, outbound_call_sid ('' when Twilio never created the call), agent_id,
--   now, attempts, retry_after_seconds, languages
-- Returns: {outcome, tries}
--   outcome: 'retry' | 'given_up' | 'stale' (not the try in progress)
local ticket, offer_id, sid, agent = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now, attempts, retry_after = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
expire_due(now)
local rec = load_ticket(ticket)
if not rec or rec.state ~= 'offered' or rec.offered_to ~= agent
    or rec.offer_id ~= offer_id
    or not is_pending_callback(rec) or (rec.callback_sid or '') ~= sid then
  return {'stale', rec and rec.callback_tries or 0}
end
if sid == '' then
  -- Never placed: it still counts as a try, so a number Twilio refuses is not retried
  -- for ever.
  rec.callback_tries = (rec.callback_tries or 0) + 1
end
local tries = rec.callback_tries
return {callback_try_failed(ticket, rec, now, attempts, retry_after), tries}
