-- orchestration/list_tasks: a page of one queue (pending, in_progress, retry, delayed, completed, dead, cancelled).
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] queue name
-- ARGV[3] offset
-- ARGV[4] limit
-- Reply: JSON list of {task = [flat task hash], errors = [...]}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team = KEYS[1], ARGV[1]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local views = task_views(base, queue_ids(base, ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])))
local out = {}
for i, v in ipairs(views) do out[i] = {task = v[1], errors = v[2]} end
return cjson.encode(out)
