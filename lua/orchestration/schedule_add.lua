-- orchestration/schedule_add: add a schedule to a team, or replace its definition; an equal one changes nothing.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] schedule id
-- ARGV[5] spec: the whole definition, canonicalised by the client (equal spec = equal schedule)
-- ARGV[6] kind: 'every' or 'cron'
-- ARGV[7] every: period in ms ('' for cron)
-- ARGV[8] cron expression ('' for every)
-- ARGV[9] timezone name (cron ticks are computed in it by the scheduler)
-- ARGV[10] start: no tick before this server time in ms ('' = none); also the anchor of an every grid
-- ARGV[11] end: no tick after this server time in ms ('' = none)
-- ARGV[12] limit: ticks enqueued at most ('' = no limit)
-- ARGV[13] catchup after an outage: 'latest', 'none' or 'all'
-- ARGV[14] grace in ms: a tick claimed later than this after its time was missed
-- ARGV[15..19] the task template: type, capability ('' = any), priority, max attempts, payload JSON
-- Reply: JSON {changed = true|false, schedule = [flat schedule hash]}
-- Mode: write
-- Memory: guarded; adds a schedule
-- Retry: safe; a replayed op id returns the first reply, and re-adding an equal definition changes nothing.
--
-- A new or changed definition is active from now (or its start): its ticks before that never fire,
-- it counts runs from 0, and its next tick is computed by the first scheduler that looks (next_ms '').
-- Re-adding the same definition (every pod does at boot) keeps the schedule's place: its status,
-- next tick and runs, so missed ticks are still caught up as its catchup says.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_schedule.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id, spec = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local s = skey(base, id)
local changed = redis.call('HGET', s, 'spec') ~= spec
if changed then
  local now = now_ms()
  local from_ms = now
  if ARGV[10] ~= '' then from_ms = math.max(now, tonumber(ARGV[10])) end
  local created = redis.call('HGET', s, 'created_at') or now
  local rev = redis.call('HINCRBY', s, 'rev', 1)
  redis.call('HSET', s, 'id', id, 'spec', spec, 'kind', ARGV[6], 'every_ms', ARGV[7], 'cron', ARGV[8],
    'tz', ARGV[9], 'start_ms', ARGV[10], 'end_ms', ARGV[11], 'limit', ARGV[12], 'catchup', ARGV[13],
    'grace_ms', ARGV[14], 'type', ARGV[15], 'cap', ARGV[16], 'prio', ARGV[17], 'max_attempts', ARGV[18],
    'payload', ARGV[19], 'status', 'active', 'from_ms', num(from_ms), 'next_ms', '', 'runs', 0,
    'last_tick', '', 'created_at', created, 'updated_at', now)
  redis.call('SADD', sub(base, 'schedules'), id)
  redis.call('ZADD', sub(base, 'schedules:due'), num(from_ms), id)
  wake_schedulers(base)
  publish(channel, {key = team, op = 'schedule_add', version = bump(base), schedule = id, rev = rev})
end
local reply = cjson.encode({changed = changed, schedule = schedule_view(base, id)})
op_remember(ops, ops_prev, op_id, reply)
return reply
