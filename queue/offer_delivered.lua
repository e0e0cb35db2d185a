-- The caller's call was moved to ring its agent (Twilio accepted the redirect, or the call
-- fetched the connect document): from now on a lease that lapses means the agent did not
-- answer. Before it, a lapse means the worker never got the call moved (it died, or
-- Twilio never heard): not the agent's doing, who stays available.
-- ARGV: call_sid, agent_id, now, languages
-- Returns: outcome  'delivered' | 'not_offered'
local sid, agent, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
expire_due(now)
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec or rec.state ~= 'offered' or rec.offered_to ~= agent then
  return 'not_offered'
end
if not rec.delivered then
  rec.delivered = true
  save_ticket(ticket, rec)
end
return 'delivered'
