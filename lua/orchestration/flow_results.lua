-- orchestration/flow_results: the results of a task's completed dependencies.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] task id
-- Reply: JSON flat [dependency id, result JSON, ...]: each dependency that completed (a result is copied
--   to the dependent when its dependency completes, so it outlives the dependency's own trimming)
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team, id = KEYS[1], ARGV[1], ARGV[2]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
if redis.call('EXISTS', tkey(base, id)) == 0 then return fail('NOT_FOUND', {kind = 'task', id = id, team = team}) end
return cjson.encode(redis.call('HGETALL', sub(base, CTL.inputs .. id)))
