-- Where a call stands now.
-- ARGV: call_sid, now, languages
-- Returns: {state, people_ahead, line_length, ticket, joined_at, agent, language}
--   agent: the agent the call is offered to or talking with ('' otherwise)
--   state: 'waiting' | 'offered' | 'held' | 'serving' | 'callback' (waiting to be called
--     back in its turn) | 'callback_wait' (a try failed: the next after a pause) | 'unknown'
--   language: the language the place is in ('' while not chosen, or unknown)
local sid, now = ARGV[1], tonumber(ARGV[2])
expire_due(now)
local line_length = redis.call('ZCARD', K_LINE)

local serving = redis.call('HGET', K_SERVING, sid)
if serving then
  local rec = cjson.decode(serving)
  return {
    'serving', -1, line_length, rec.ticket, tostring(rec.joined_at), rec.agent,
    rec.language or '',
  }
end

local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return {'unknown', -1, line_length, -1, '', '', ''}
end
return {
  rec.state, people_ahead(ticket, rec), line_length, tonumber(ticket), tostring(rec.joined_at),
  rec.offered_to or '', rec.language or '',
}
