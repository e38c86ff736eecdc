-- orchestration/schedule_list: every schedule of a team, sorted by id.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- Reply: JSON {now = server ms, schedules = [[flat schedule hash], ...]}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_schedule.lua

local base, team = KEYS[1], ARGV[1]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local ids = redis.call('SMEMBERS', sub(base, 'schedules'))
table.sort(ids)
local out = {}
for i, id in ipairs(ids) do out[i] = schedule_view(base, id) end
return cjson.encode({now = now_ms(), schedules = out})
