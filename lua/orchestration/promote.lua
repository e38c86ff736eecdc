-- orchestration/promote: make a delayed (or retry-waiting) task claimable now.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- Reply: JSON {task = [flat task hash], errors = [...]}
-- Mode: write
-- Memory: allowed; moves an existing task between queues; adds no data
-- Retry: safe; a replayed op id returns the first reply; any other second promote finds the task
--   pending and is refused (InvalidTransitionError).
--
-- The task keeps its place in line (its pending score from enqueue) and wakes one claimer.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local replay = task_replay(base, ops, ops_prev, op_id)
if replay then return replay end
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local status = redis.call('HGET', tkey(base, id), 'status')
if not status then return fail('NOT_FOUND', {kind = 'task', id = id, team = team}) end
if status == 'delayed' then redis.call('ZREM', sub(base, CTL.delayed), id)
elseif status == 'retry' then redis.call('ZREM', sub(base, 'retry'), id)
else return fail('TRANSITION', {kind = 'task', id = id, team = team, status = status, op = 'promote'}) end
push_pending(base, id)

publish(channel, {key = team, op = 'promote', version = bump(base), task = id, was = status, status = 'pending'})
op_remember(ops, ops_prev, op_id, task_memo(id))
return task_reply(base, id)
