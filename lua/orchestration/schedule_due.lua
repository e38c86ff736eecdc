-- orchestration/schedule_due: what a scheduler acts on now, and how long it may sleep after.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] at most this many due schedules
-- Reply: JSON {now = server ms, due = [[flat schedule hash], ...] (soonest first), wait_ms = ms until
--   the next one is due (-1: none), wake = the marker list to block on while sleeping}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_schedule.lua

local base, team, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local now = now_ms()
local index = sub(base, 'schedules:due')
local ids = redis.call('ZRANGEBYSCORE', index, '-inf', num(now), 'LIMIT', 0, limit)
local due = {}
for i, id in ipairs(ids) do due[i] = schedule_view(base, id) end
local wait_ms = -1
local later = redis.call('ZRANGEBYSCORE', index, '(' .. num(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if later[2] then wait_ms = tonumber(later[2]) - now end
return cjson.encode({now = now, due = due, wait_ms = wait_ms, wake = sub(base, 'schedules:wake')})
