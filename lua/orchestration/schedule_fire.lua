-- orchestration/schedule_fire: claim a schedule's due ticks and enqueue one task per tick, in one step.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id ('' from the scheduler: the claim below is what makes a retry harmless)
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] dedupe window in ms (as orchestration/enqueue)
-- ARGV[5] schedule id
-- ARGV[6] rev the scheduler read (the definition its ticks were computed from)
-- ARGV[7] next_ms the scheduler read ('' = not computed yet): the claim
-- ARGV[8] the new next tick (ms): the first tick after the last one claimed here
-- ARGV[9..] the ticks to enqueue (ms, ascending; none when catchup skips them all)
-- Reply: JSON {status = 'fired' | 'stale' (another scheduler claimed first, or the definition
--   changed) | 'early' (a tick is not due by the server clock; nothing written) | 'idle' (paused,
--   done or removed), created = [task ids], next = new next_ms ('' = done), done = true|false}
-- Mode: write
-- Memory: guarded; adds tasks
-- Retry: safe; a claim moves next_ms forward from the value the scheduler read, so a resent (or a
--   second scheduler's) claim of the same ticks is 'stale' and writes nothing; and a tick's task
--   id '<schedule>@<tick ms>' is enqueued at most once (orchestration/enqueue's dedupe).
--
-- The scheduler computes the ticks (cron ones need croniter) and the catchup; this script is the
-- judge: it accepts them only as the successor of the schedule's stored next tick, only when due
-- by the server's TIME, on the every-grid for an every schedule, and it applies end and limit.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_enqueue.lua
--@include lib/orchestration_schedule.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, window_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local id, rev, expected, new_next = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local s = skey(base, id)
local f = redis.call('HMGET', s, 'status', 'rev', 'next_ms', 'from_ms', 'kind', 'every_ms', 'start_ms',
  'end_ms', 'limit', 'runs', 'type', 'cap', 'prio', 'max_attempts', 'payload')
local function answer(status, created, nxt, done)
  local reply = cjson.encode({status = status, created = created or {}, next = nxt or '', done = done or false})
  op_remember(ops, ops_prev, op_id, reply)
  return reply
end
if f[1] ~= 'active' then return answer('idle') end
if f[2] ~= rev or f[3] ~= expected then return answer('stale', {}, f[3]) end

local from_ms, every_ms, anchor = tonumber(f[4]), tonumber(f[6]), tonumber(f[7]) or 0
local end_ms, limit, runs = tonumber(f[8]), tonumber(f[9]), tonumber(f[10]) or 0
local floor = tonumber(expected) or from_ms
local function bad(what)
  return fail('INVALID', {kind = 'schedule', id = id, detail = what})
end
local function on_grid(t) return f[5] ~= 'every' or (t - anchor) % every_ms == 0 end

local ticks, prev = {}, nil
for i = 9, #ARGV do
  local t = tonumber(ARGV[i])
  if not t or t < floor or (prev and t <= prev) or not on_grid(t) then
    return bad('tick ' .. ARGV[i] .. ' is not a successor of its next tick ' .. num(floor))
  end
  ticks[#ticks + 1], prev = t, t
end
if not new_next or new_next <= (prev or floor - 1) or (expected ~= '' and new_next <= floor)
    or not on_grid(new_next) then
  return bad('new next tick ' .. ARGV[8] .. ' does not follow the ticks claimed')
end
local now = now_ms()
if prev and prev > now then return answer('early', {}, f[3]) end

local created, claimed, counts = {}, 0, {}
local done = false
trim_gone(base, now, window_ms)
for _, t in ipairs(ticks) do
  if (end_ms and t > end_ms) or (limit and runs >= limit) then done = true; break end
  runs = runs + 1
  claimed = claimed + 1
  local task = id .. '@' .. num(t)
  if enqueue_one(base, now, task, f[11], f[12], f[13], f[14], f[15]) then
    created[#created + 1] = task
    counts[f[12]] = (counts[f[12]] or 0) + 1
  end
end
for cap, n in pairs(counts) do wake(base, cap, n) end
if (end_ms and new_next > end_ms) or (limit and runs >= limit) then done = true end

local nxt = num(new_next)
if done then nxt = '' end
redis.call('HSET', s, 'next_ms', nxt, 'runs', runs, 'updated_at', now)
if claimed > 0 then redis.call('HSET', s, 'last_tick', num(ticks[claimed])) end
if done then
  schedule_stop(base, id, 'done', now)
else
  redis.call('ZADD', sub(base, 'schedules:due'), nxt, id)
end
if #created > 0 then
  publish(channel, {key = team, op = 'enqueue', version = bump(base), tasks = created, schedule = id})
end
if done then publish(channel, {key = team, op = 'schedule_done', version = bump(base), schedule = id}) end
return answer('fired', created, nxt, done)
