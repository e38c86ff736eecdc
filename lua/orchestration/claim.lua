-- orchestration/claim: give an agent the best pending task it can do, with a lease and a fencing token.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash
-- KEYS[3] ops order (sorted set)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] agent id
-- ARGV[5] lease in ms (> 0)
-- ARGV[6] max stalls (a task whose lease expires more often goes to the dead letters)
-- ARGV[7] dead letters to keep (older ones are deleted and tombstoned)
-- ARGV[8] dedupe window in ms: how long a deleted task's id stays tombstoned (enqueue refuses it)
-- ARGV[9] 'given' = match ARGV[10..] capabilities; 'agent' = the agent's registered ones (none = any task)
-- ARGV[10..] capabilities
-- Reply: JSON {task = [flat task hash], errors = [...]}, or when nothing matches
--   {wait_ms = ms until the next lease/retry event (-1 none), wake = [marker lists to BLPOP on]}
-- Mode: write
-- Retry: safe; a replayed op id returns the task the first call claimed, as it is now (an empty claim
--   is not remembered).
--
-- First moves expired leases back to pending and due retries to pending (at most 100 each per call),
-- then looks at the head of the generic pending zset and of one zset per candidate capability:
-- O(C log n) for C capabilities, never a scan of pending tasks.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, order = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lease_ms, max_stalls, mode = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[9]
local limits = {dead_keep = tonumber(ARGV[7]), window_ms = tonumber(ARGV[8])}

local replay = task_replay(base, ops, op_id)
if replay then return replay end
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end

local now = now_ms()
reap_expired(base, team, now, max_stalls, channel, limits)
promote_due(base, team, now, channel)

local caps = {}
local any = false
local given = '\n'
if mode == 'given' then
  for i = 10, #ARGV do caps[#caps + 1] = ARGV[i]; given = given .. ARGV[i] .. '\n' end
else
  local stored = redis.call('HGET', akey(base, agent), 'caps') or '\n'
  for cap in string.gmatch(stored, '[^\n]+') do caps[#caps + 1] = cap end
  any = #caps == 0
end
if any then caps = redis.call('SMEMBERS', sub(base, 'caps')) end

local best_id, best_score, best_cap = nil, nil, nil
local function consider(cap)
  local head = redis.call('ZRANGE', pkey(base, cap), 0, 0, 'WITHSCORES')
  if head[1] then
    local score = tonumber(head[2])
    if not best_score or score < best_score then best_id, best_score, best_cap = head[1], score, cap end
  end
end
consider('')
for _, cap in ipairs(caps) do consider(cap) end

if not best_id then
  -- a waiting worker is alive: its claims count as heartbeats (no event for an empty claim)
  if redis.call('EXISTS', akey(base, agent)) == 1 then redis.call('HSET', akey(base, agent), 'heartbeat_at', now) end
  local wake = {sub(base, 'wake')}
  if any then
    wake[2] = sub(base, 'wake-any')
  else
    for _, cap in ipairs(caps) do wake[#wake + 1] = sub(base, 'wake:' .. cap) end
  end
  return cjson.encode({wait_ms = next_event_ms(base, now), wake = wake})
end

take_pending(base, best_id, best_cap)
local new_caps = nil
if mode == 'given' then new_caps = given end
hold(base, agent, best_id, new_caps, now, true)
local token = start_task(base, best_id, agent, lease_ms, 'claim', now)
publish(channel, {key = team, op = 'claim', version = bump(base), task = best_id, agent = agent, token = token,
  status = 'in_progress'})
op_remember(ops, order, op_id, task_memo(best_id, token))
return task_reply(base, best_id)
