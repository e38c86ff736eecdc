-- orchestration/schedule_resume: let a paused schedule tick again, from now on.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] schedule id
-- Reply: JSON [flat schedule hash] as it is now
-- Mode: write
-- Memory: guarded; lets a schedule add tasks again
-- Retry: safe; a replayed op id returns the first reply, and resuming an active schedule changes nothing.
--
-- Its next tick is the first at or after the resume time (computed by the next scheduler pass):
-- the ticks it slept through are not caught up. A finished schedule ('done') stays done.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_schedule.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end
local s = skey(base, id)
local status = redis.call('HGET', s, 'status')
if not status then return fail('NOT_FOUND', {kind = 'schedule', id = id, team = team}) end

if status == 'paused' then
  local now = now_ms()
  local from_ms = math.max(now, tonumber(redis.call('HGET', s, 'from_ms')) or 0)
  redis.call('HSET', s, 'status', 'active', 'from_ms', num(from_ms), 'next_ms', '', 'updated_at', now)
  redis.call('ZADD', sub(base, 'schedules:due'), num(from_ms), id)
  wake_schedulers(base)
  publish(channel, {key = team, op = 'schedule_resume', version = bump(base), schedule = id})
end
local reply = cjson.encode(schedule_view(base, id))
op_remember(ops, ops_prev, op_id, reply)
return reply
