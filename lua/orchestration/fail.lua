-- orchestration/fail: record a failed attempt; retry later with backoff, or dead-letter it.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] error text
-- ARGV[6] agent id ('' = not checked)
-- ARGV[7] fencing token ('' = none; required for claimed tasks)
-- ARGV[8] '1' retry while attempts remain, '0' dead-letter now
-- ARGV[9] backoff: 'fixed' or 'exponential'
-- ARGV[10] base delay ms
-- ARGV[11] max delay ms
-- ARGV[12] jitter fraction (0..1): the delay is reduced by up to this share
-- ARGV[13] random number in [0, 1) from the caller (scripts stay deterministic)
-- ARGV[14] dead letters to keep (older ones are deleted and tombstoned; never the one just dead)
-- ARGV[15] dedupe window in ms: how long a deleted task's id stays tombstoned (enqueue refuses it)
-- Reply: JSON {task = [flat task hash], errors = [...]}
-- Mode: write
-- Memory: allowed; finishing held work drains the queue; error lists are capped
-- Retry: safe; a replayed op id returns the first reply; the task is no longer in progress afterwards.
-- Counts (team hash): failures_total (every accepted failure), dead_total when it dead-letters.
--
-- The n-th failure waits delay (fixed) or delay * 2^(n-1) (exponential), capped at max delay,
-- times (1 - jitter * random), counted from the server clock. A task whose failures reach its
-- max attempts goes to the dead letters with its error history.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_finish.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id, err = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local agent, token, retry = ARGV[6], ARGV[7], ARGV[8]
local kind, delay, max_delay = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local jitter, rand = tonumber(ARGV[12]), tonumber(ARGV[13])
local limits = {dead_keep = tonumber(ARGV[14]), window_ms = tonumber(ARGV[15])}

local early, task = finish_begin(base, ops, ops_prev, op_id, team, id, agent, token, 'fail')
if early then return early end

local now = now_ms()
local t = tkey(base, id)
local holder = task.holder
redis.call('ZREM', sub(base, 'running'), id)
release_agent(base, holder, id)
local failures = redis.call('HINCRBY', t, 'failures', 1)
redis.call('HINCRBY', base, 'failures_total', 1)
local max_attempts = tonumber(redis.call('HGET', t, 'max_attempts') or '1')
add_error(base, id, err)
redis.call('HSET', t, 'last_error', err, 'lease_until', '')

local status
if retry == '1' and failures < max_attempts then
  local wait = delay
  if kind == 'exponential' then wait = delay * 2 ^ (failures - 1) end
  wait = math.floor(math.min(wait, max_delay) * (1 - jitter * rand))
  if wait <= 0 then
    push_pending(base, id)
    status = 'pending'
  else
    redis.call('HSET', t, 'status', 'retry', 'agent', '', 'next_run_at', num(now + wait))
    redis.call('ZADD', sub(base, 'retry'), num(now + wait), id)
    due_lower(base, now + wait, false)
    status = 'retry'
  end
else
  to_dead(base, team, id, now, limits, channel)
  status = 'dead'
end

publish(channel, {key = team, op = 'fail', version = bump(base), task = id, agent = holder, status = status,
  failures = failures})
op_remember(ops, ops_prev, op_id, task_memo(id))
return task_reply(base, id)
