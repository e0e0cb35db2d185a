-- A callback's outbound call did not reach the caller (a machine answered, busy, no
-- answer, failed, or Twilio refused to place it): the agent is free at once; the ticket
-- keeps its place and is tried again after the pause, or is given up after the last try.
-- Duplicated, late or out-of-order reports of an older try change nothing.
-- Twilio unreachable while placing it (`counts` '0'): not a try at all; the callback is back
-- at the front at once.
-- ARGV: ticket, offer_id, outbound_call_sid ('' when Twilio never created the call), agent_id,
--   now, attempts, retry_after_seconds, counts ('1' | '0'), languages
-- Returns: {outcome, tries}
--   outcome: 'retry' | 'given_up' | 'again' (not counted: ready now) | 'stale' (not the try in
--   progress)
local ticket, offer_id, sid, agent = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now, attempts, retry_after = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local counts = ARGV[8] == '1'
expire_due(now)
local rec = load_ticket(ticket)
if not rec or rec.state ~= 'offered' or rec.offered_to ~= agent
    or rec.offer_id ~= offer_id
    or not is_pending_callback(rec) or (rec.callback_sid or '') ~= sid then
  return {'stale', rec and rec.callback_tries or 0}
end
if not counts then
  settle_agent(rec.offered_to, offered_call(ticket, rec), 'available', now)
  redis.call('ZREM', K_OFFERS, ticket)
  rec.state = 'callback'
  rec.offered_to = nil
  save_ticket(ticket, rec)
  set_ready(ticket, rec, true)
  return {'again', rec.callback_tries or 0}
end
if sid == '' then
  -- Never placed: it still counts as a try, so a number Twilio refuses is not retried
  -- for ever.
  rec.callback_tries = (rec.callback_tries or 0) + 1
end
local tries = rec.callback_tries
return {callback_try_failed(ticket, rec, now, attempts, retry_after), tries}
