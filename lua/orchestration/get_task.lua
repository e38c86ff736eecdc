-- orchestration/get_task: one task with its error history.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] task id
-- Reply: JSON {task = [flat task hash], errors = [...], logs = [...], inputs = [flat dependency results]}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team, id = KEYS[1], ARGV[1], ARGV[2]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
if redis.call('EXISTS', tkey(base, id)) == 0 then return fail('NOT_FOUND', {kind = 'task', id = id, team = team}) end
local view = task_view(base, id)
return cjson.encode({task = view[1], errors = view[2], logs = redis.call('LRANGE', sub(base, CTL.logs .. id), 0, -1),
  inputs = task_inputs(base, id, view[1])})
