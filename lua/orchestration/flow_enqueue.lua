-- orchestration/flow_enqueue: add tasks that depend on other tasks (a flow), all or nothing.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] dedupe window in ms (as orchestration/enqueue's)
-- ARGV[5] dead letters to keep (a new task whose dependency already failed is one)
-- ARGV[6..] 8 fields per task, every task after the tasks of this call it depends on: id, type,
--   capability ('' = any), priority, max attempts, payload JSON, on dependency failure ('fail' or
--   'ignore'), dependency ids (newline-joined; '' = none)
-- Reply: one character per task, '1' created or '0' the id already existed (or finished within the
--   window; it is left as it is, dependencies included)
-- Mode: write
-- Memory: guarded; adds tasks
-- Retry: safe; ids are idempotent as in orchestration/enqueue, and a replayed op id returns the first reply.
--
-- Every dependency of a new task must be a task of this call listed before it, or a task of the team
-- (in any status); otherwise nothing is written and the reply is INVALID naming the task and the
-- dependency (unknown, or finished and deleted so that its outcome is no longer known). A new task
-- whose dependencies have all completed is pending at once; one with a dependency already dead or
-- cancelled is a dead letter at once under 'fail'. Cycles cannot form: a new task only depends on
-- tasks that exist before it.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_enqueue.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, window_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local dead_limits = {dead_keep = tonumber(ARGV[5]), window_ms = window_ms}
local FIRST, WIDTH = 6, 8

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local now = now_ms()
trim_gone(base, now, window_ms)

local function deps_of(i)
  local deps = {}
  for dep in string.gmatch(ARGV[i + 7], '[^\n]+') do deps[#deps + 1] = dep end
  return deps
end

-- check everything before the first write
local listed, new = {}, {}
for i = FIRST, #ARGV, WIDTH do
  local id = ARGV[i]
  local exists = redis.call('EXISTS', tkey(base, id)) == 1 or is_gone(base, id)
  if not exists then
    new[i] = true
    for _, dep in ipairs(deps_of(i)) do
      if dep == id then
        return fail('INVALID', {kind = 'task', id = id, team = team, reason = 'depends on itself'})
      end
      if not listed[dep] then
        local state = flow_dep_state(base, dep)
        if state == 'unknown' then
          return fail('INVALID', {kind = 'task', id = id, team = team, dependency = dep,
            reason = 'depends on unknown task ' .. dep .. ' (neither a task of the team nor listed before it)'})
        elseif state == 'gone' then
          return fail('INVALID', {kind = 'task', id = id, team = team, dependency = dep,
            reason = 'depends on ' .. dep .. ', which finished and was deleted: its outcome is no longer known'})
        end
      end
    end
  end
  listed[id] = true
end

local marks, by_status, counts = {}, {pending = {}, waiting = {}, dead = {}}, {}
for i = FIRST, #ARGV, WIDTH do
  local id, cap = ARGV[i], ARGV[i + 2]
  marks[#marks + 1] = '0'
  if new[i] and enqueue_one(base, now, id, ARGV[i + 1], cap, ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], nil) then
    marks[#marks] = '1'
    local deps, status = deps_of(i), 'pending'
    if #deps > 0 then status = flow_attach(base, id, cap, deps, ARGV[i + 6], now, dead_limits) end
    local list = by_status[status]
    list[#list + 1] = id
    if status == 'pending' then counts[cap] = (counts[cap] or 0) + 1 end
  end
end
for cap, n in pairs(counts) do wake(base, cap, n) end

for _, status in ipairs({'pending', 'waiting', 'dead'}) do
  if #by_status[status] > 0 then
    publish(channel, {key = team, op = 'enqueue', version = bump(base), tasks = by_status[status], status = status})
  end
end
local reply = table.concat(marks)
op_remember(ops, ops_prev, op_id, reply)
return reply
