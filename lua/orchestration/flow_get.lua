-- orchestration/flow_get: the graph of dependencies around a task, with each task's status.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] task id
-- ARGV[3] most tasks to return (breadth first from the task)
-- Reply: JSON {nodes = [{id, status, deps = [...], dependents = [...]}, ...], truncated = bool}; a
--   status 'gone' is a task finished and deleted (its own dependencies are then unknown)
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team, id = KEYS[1], ARGV[1], ARGV[2]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
if redis.call('EXISTS', tkey(base, id)) == 0 then return fail('NOT_FOUND', {kind = 'task', id = id, team = team}) end
local nodes, truncated = flow_view(base, id, tonumber(ARGV[3]))
return cjson.encode({nodes = nodes, truncated = truncated})
