-- orchestration/progress: a running task's holder reports progress or appends a log line (fenced).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] fencing token ('' = none; required for claimed tasks)
-- ARGV[6] 'progress' (ARGV[7] = the progress as JSON, stored in the task's progress field) or
--   'log' (ARGV[7] = one line appended to :logs:<id>)
-- ARGV[7] the progress JSON or the log line
-- ARGV[8] log lines kept per task (the oldest are dropped)
-- Reply: JSON {task = [flat task hash], errors = [...]}
-- Mode: write
-- Memory: allowed; reports on held work; a task's logs are capped
-- Retry: safe; a replayed op id returns the first reply (a log line is appended once).
--
-- Checked like a completion (finish_check): a stale token is LEASE, a cancelled task CANCELLED.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_finish.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local what, value, keep = ARGV[6], ARGV[7], tonumber(ARGV[8])

local early, task = finish_begin(base, ops, ops_prev, op_id, team, id, '', token, what)
if early then return early end

local event = {key = team, task = id, agent = task.holder}
if what == 'progress' then
  redis.call('HSET', tkey(base, id), 'progress', value, 'progress_at', now_ms())
  event.op = 'progress'
  event.progress = cjson.decode(value)
else
  local logs = sub(base, CTL.logs .. id)
  redis.call('RPUSH', logs, value)
  redis.call('LTRIM', logs, -keep, -1)
  event.op = 'task_log'
  event.line = value
end
event.version = bump(base)
publish(channel, event)
op_remember(ops, ops_prev, op_id, task_memo(id))
return task_reply(base, id)
