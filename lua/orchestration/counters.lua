-- orchestration/counters: a team's running totals, kept in the team hash by the scripts that count them.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2..] names of the team hash's counter fields to read (completed_total, dead_total, ...)
-- Reply: {value of each named field, '' when the field is absent}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team = KEYS[1], ARGV[1]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local out = {}
for i = 2, #ARGV do out[i - 1] = redis.call('HGET', base, ARGV[i]) or '' end
return out
