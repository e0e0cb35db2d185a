-- The caller chose the language they are served in (the language menu, at the start or
-- mid-call). The place is kept: the same ticket, so the same arrival order. A first choice
-- moves the caller from the undecided to that language's line, which lowers or keeps every
-- count; a change of language is marked, so callers already in the new language do not
-- count them (see people_ahead in _common.lua).
-- ARGV: call_sid, language, now, languages
-- Returns: {outcome, people_ahead}
--   outcome: 'chosen' (first choice) | 'changed' | 'unchanged' (already that language)
--            | 'unknown' (no place: ended, serving, never queued)
--            | 'not_served' (the queue does not serve that language)
local sid, language, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
expire_due(now)
if not LANG_KEYS[language] then
  return {'not_served', -1}
end
local ticket = redis.call('HGET', K_CALLS, sid)
local rec = ticket and load_ticket(ticket)
if not rec then
  return {'unknown', -1}
end
if rec.language == language then
  return {'unchanged', people_ahead(ticket, rec)}
end
local first = not rec.language or rec.language == ''
-- An offered caller is being put through to an agent who speaks the old language: that
-- offer settles first (connect, no answer, or the lease lapsing) and the change applies
-- to where the caller then is.
local was_ready = redis.call('ZSCORE', K_READY, ticket) ~= false
-- A caller made undecided by reconcile.lua was not counted by the callers of this language
-- who were already waiting then (see there): after the choice they still are not.
local uncounted_since = first and redis.call('ZSCORE', LANG_KEYS[language].switched, ticket)
leave_language(ticket, rec)
set_ready(ticket, rec, false)
rec.language = language
rec.joined_stamp = next_stamp()
save_ticket(ticket, rec)
join_line(ticket, rec)
if not first then
  redis.call('ZADD', LANG_KEYS[language].switched, rec.joined_stamp, ticket)
elseif uncounted_since then
  redis.call('ZADD', LANG_KEYS[language].switched, uncounted_since, ticket)
end
if was_ready then
  set_ready(ticket, rec, true)
end
return {first and 'chosen' or 'changed', people_ahead(ticket, rec)}
