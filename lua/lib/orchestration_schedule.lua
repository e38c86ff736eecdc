-- A team's schedules, shared by the orchestration/schedule_* scripts (needs lib/core.lua and
-- lib/orchestration.lua first). Every key is a sub-key of the team's base key (KEYS[1]), so a
-- schedule and the tasks it enqueues share the team's hash tag:
--   :schedules           set of the team's schedule ids
--   :schedule:<id>       schedule hash: id, rev (bumped when the definition changes), spec (the
--                        definition as the client canonicalised it: an equal add changes nothing),
--                        kind ('every'|'cron'), every_ms, cron, tz, start_ms, end_ms, limit,
--                        catchup ('latest'|'none'|'all'), grace_ms, the task template (type, cap,
--                        prio, max_attempts, payload), status ('active'|'paused'|'done'), from_ms
--                        (no tick before it fires: the add or resume time), next_ms (the next tick
--                        not yet claimed; '' = not computed yet), runs (ticks claimed), last_tick,
--                        created_at, updated_at
--   :schedules:due       active schedules scored by next_ms (by from_ms while next_ms is '')
--   :schedules:wake      marker list a sleeping scheduler BLPOPs on (pushed by add and resume)
-- A tick's task id is '<schedule id>@<tick ms>', so one tick is one task whatever runs it.

local SCHED_WAKE_KEEP = 16
local SCHED_WAKE_TTL_MS = 60000

local function skey(base, id) return base .. ':schedule:' .. id end

-- The due score of an active schedule: its next tick, or the time its next tick is computed from.
local function schedule_due_score(next_ms, from_ms)
  if next_ms ~= '' then return next_ms end
  return from_ms
end

-- Wake sleeping schedulers (a new or resumed schedule may be due before the time they sleep to).
local function wake_schedulers(base)
  local key = sub(base, 'schedules:wake')
  for _ = 1, SCHED_WAKE_KEEP do redis.call('LPUSH', key, '1') end
  redis.call('LTRIM', key, 0, SCHED_WAKE_KEEP - 1)
  redis.call('PEXPIRE', key, SCHED_WAKE_TTL_MS)
end

-- The stored schedule as a flat hash (empty when it does not exist).
local function schedule_view(base, id)
  return redis.call('HGETALL', skey(base, id))
end

-- Drop the schedule from the due index and mark it `status` ('paused' or 'done').
local function schedule_stop(base, id, status, now)
  redis.call('ZREM', sub(base, 'schedules:due'), id)
  redis.call('HSET', skey(base, id), 'status', status, 'updated_at', now)
end
