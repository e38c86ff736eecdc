-- orchestration/schedule_remove: delete a schedule (the tasks it enqueued stay in the queue).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] schedule id
-- Reply: '1' removed, '0' no such schedule (nothing changed)
-- Mode: write
-- Memory: allowed; deletes a schedule
-- Retry: safe; a replayed op id returns the first reply, and a second removal finds nothing ('0').

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_schedule.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local reply = '0'
if redis.call('DEL', skey(base, id)) == 1 then
  reply = '1'
  redis.call('SREM', sub(base, 'schedules'), id)
  redis.call('ZREM', sub(base, 'schedules:due'), id)
  publish(channel, {key = team, op = 'schedule_remove', version = bump(base), schedule = id})
end
op_remember(ops, ops_prev, op_id, reply)
return reply
