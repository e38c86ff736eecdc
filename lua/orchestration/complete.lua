-- orchestration/complete: accept the result of an in-progress task (exactly one accepted completion).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] result (opaque JSON)
-- ARGV[6] agent id ('' = not checked)
-- ARGV[7] fencing token ('' = none; required for claimed tasks)
-- ARGV[8] completed tasks to keep (older ones are deleted and tombstoned; never the one just completed)
-- ARGV[9] dedupe window in ms: how long a deleted task's id stays tombstoned (enqueue refuses it)
-- Reply: JSON {task = [flat task hash], errors = [...]}
-- Mode: write
-- Memory: allowed; finishing held work drains the queue; the history is capped
-- Retry: safe; a replayed op id returns the first reply; any other second completion is refused.
--
-- The completion itself is accept_completion (lib/orchestration_finish.lua).

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_finish.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local result, agent, token, keep, window_ms = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])

local early, task = finish_begin(base, ops, ops_prev, op_id, team, id, agent, token, 'complete')
if early then return early end

accept_completion(base, team, id, result, now_ms(), keep, window_ms, channel, task)
op_remember(ops, ops_prev, op_id, task_memo(id))
return task_reply(base, id)
