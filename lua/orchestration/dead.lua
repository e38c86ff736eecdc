-- orchestration/dead: retry or purge dead-letter tasks.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] 'retry' (back to pending with failures and stalls reset) or 'purge' (delete, tombstoned)
-- ARGV[5] at most this many tasks when no ids are given (oldest dead first)
-- ARGV[6] dedupe window in ms: how long a purged task's id stays tombstoned (enqueue refuses it)
-- ARGV[7..] task ids (ids that are not dead letters are skipped)
-- Reply: JSON list of the task ids acted on
-- Mode: write
-- Memory: allowed; moves or deletes existing dead letters; adds no data
-- Retry: safe; a task leaves the dead letters once, and a replayed op id returns the first reply.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, action, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local window_ms = tonumber(ARGV[6])

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local dead = sub(base, 'dead')
local ids = {}
if #ARGV >= 7 then
  for i = 7, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', dead, 0, limit - 1)
end
local done = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', dead, id) == 1 then
    if action == 'retry' then
      redis.call('HSET', tkey(base, id), 'failures', 0, 'stalls', 0, 'finished_at', '')
      push_pending(base, id)
    end
    done[#done + 1] = id
  end
end
if action ~= 'retry' then forget_tasks(base, done, now_ms(), window_ms) end

if #done > 0 then
  publish(channel, {key = team, op = 'dead_' .. action, version = bump(base), tasks = done})
end
local reply = cjson.encode(done)
op_remember(ops, ops_prev, op_id, reply)
return reply
