-- orchestration/task_logs: a task's log lines, oldest first.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] task id
-- Reply: JSON list of lines
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team, id = KEYS[1], ARGV[1], ARGV[2]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
if redis.call('EXISTS', tkey(base, id)) == 0 then return fail('NOT_FOUND', {kind = 'task', id = id, team = team}) end
return cjson.encode(redis.call('LRANGE', sub(base, CTL.logs .. id), 0, -1))
