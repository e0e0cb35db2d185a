-- Where a call stands now.
-- ARGV: call_sid, now, languages
-- Returns: {state, people_ahead, line_length, ticket, joined_at, agent, language}
--   agent: the agent the call is offered to or talking with ('' otherwise)
--   state: 'waiting' | 'offered' | 'held' | 'serving' | 'callback' (waiting to be called
--     back in its turn) | 'callback_wait' (a try failed: the next after a pause) | 'unknown'
--   language: the language the place is in ('' while not chosen, or unknown)
local sid, now = ARGV[1], tonumber(ARGV[2])
expire_due(now)
return where_is(sid)
