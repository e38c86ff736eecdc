-- orchestration/schedule_pause: stop a schedule's ticks until schedule_resume.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] schedule id
-- Reply: JSON [flat schedule hash] as it is now
-- Mode: write
-- Memory: allowed; stops work rather than adding any
-- Retry: safe; a replayed op id returns the first reply, and pausing a paused schedule changes nothing.
--
-- The ticks that fall while it is paused never fire, whatever its catchup. A finished schedule
-- ('done') stays done.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_schedule.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end
local status = redis.call('HGET', skey(base, id), 'status')
if not status then return fail('NOT_FOUND', {kind = 'schedule', id = id, team = team}) end

if status == 'active' then
  schedule_stop(base, id, 'paused', now_ms())
  publish(channel, {key = team, op = 'schedule_pause', version = bump(base), schedule = id})
end
local reply = cjson.encode(schedule_view(base, id))
op_remember(ops, ops_prev, op_id, reply)
return reply
