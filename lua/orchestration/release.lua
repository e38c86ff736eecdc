-- orchestration/release: hand an in-progress task back to pending, unfinished and not failed
-- (a worker shutting down gives its task to the next claimer instead of waiting for its lease).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] agent id ('' = not checked)
-- ARGV[6] fencing token ('' = none; required for claimed tasks)
-- Reply: JSON {task = [flat task hash], errors = [...]}
-- Mode: write
-- Memory: allowed; gives held work back; adds no data
-- Retry: safe; a replayed op id returns the first reply; any other second release finds the task
--   no longer in progress and is refused (a stale token: LeaseError).
--
-- The task keeps its place in line (its pending score), its attempts, failures and stalls: a release
-- is neither a failure nor a stall. The old fencing token is dead from here on (the next claim gets
-- a new one), so a late complete/fail by the releasing worker is refused.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_finish.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local agent, token = ARGV[5], ARGV[6]

local early, task = finish_begin(base, ops, ops_prev, op_id, team, id, agent, token, 'release')
if early then return early end

local holder = task.holder
redis.call('ZREM', sub(base, 'running'), id)
release_agent(base, holder, id)
push_pending(base, id)

publish(channel, {key = team, op = 'release', version = bump(base), task = id, agent = holder,
  status = 'pending'})
op_remember(ops, ops_prev, op_id, task_memo(id))
return task_reply(base, id)
