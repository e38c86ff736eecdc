-- orchestration/enqueue: add tasks to the team's queue; idempotent by task id.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] dedupe window in ms: a task id finished and deleted (trimmed from the completed or dead
--   history, or purged) less than this long ago still counts as existing
-- ARGV[5] run_at in ms by the server clock ('' = now; a time already past = now)
-- ARGV[6] delay in ms from the server's now ('' = none; used when ARGV[5] is '')
-- ARGV[7..] 6 fields per task: id, type, capability ('' = any), priority, max attempts, payload JSON
-- Reply: one character per task, '1' created or '0' the id already existed (or finished within the window)
-- Mode: write
-- Memory: guarded; adds tasks
-- Retry: safe; a task id that exists (or finished within the dedupe window) is never enqueued again,
--   and a replayed op id returns the first reply.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_enqueue.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team = ARGV[1], ARGV[2], ARGV[3]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local now = now_ms()
local due = tonumber(ARGV[5])
if not due and tonumber(ARGV[6]) then due = now + tonumber(ARGV[6]) end
local created, marks = enqueue_tasks(base, now, 7, tonumber(ARGV[4]), due)
local reply = table.concat(marks)

if #created > 0 then
  local status = 'pending'
  if due and due > now then status = 'delayed' end
  publish(channel, {key = team, op = 'enqueue', version = bump(base), tasks = created, status = status})
end
op_remember(ops, ops_prev, op_id, reply)
return reply
