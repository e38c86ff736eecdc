-- orchestration/complete_claim: accept the result of an in-progress task, then claim the holder's next task.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] result (opaque JSON)
-- ARGV[6] agent id ('' = not checked; the task's holder claims)
-- ARGV[7] fencing token ('' = none; required for claimed tasks)
-- ARGV[8] completed tasks to keep (older ones are deleted and tombstoned; never the one just completed)
-- ARGV[9] dedupe window in ms: how long a deleted task's id stays tombstoned (enqueue refuses it)
-- ARGV[10] lease of the next task in ms (> 0)
-- ARGV[11] max stalls (a task whose lease expires more often goes to the dead letters)
-- ARGV[12] dead letters to keep (older ones are deleted and tombstoned)
-- ARGV[13] 'given' = match ARGV[14..] capabilities; 'agent' = the agent's registered ones (none = any task)
-- ARGV[14..] capabilities
-- Reply: JSON {task = [flat hash of the next task], errors = [...]} as orchestration/claim, or when
--   nothing matches {wait_ms = ms until the next lease/retry event (-1 none), wake = [marker lists]}
--   (+ limited = true when a team limit held the next claim back)
-- Mode: write
-- Memory: guarded; claims new work (the manager then completes alone)
-- Retry: safe; a replayed op id returns the first reply (the claimed task as it is now, with the token
--   that call gave; or the same empty reply); any other second completion is refused.
-- Counts (team hash): completed_total, the next claim in the wake-up histogram, stalls_total.
--
-- One script does what orchestration/complete then orchestration/claim would (the same checks, the same
-- complete and claim events), so a worker pays one round trip per task. A refused completion claims
-- nothing.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_finish.lua
--@include lib/orchestration_limits.lua
--@include lib/orchestration_claim.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local result, agent, token, keep, window_ms = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])

local early, task = finish_begin(base, ops, ops_prev, op_id, team, id, agent, token, 'complete')
if early then return early end

local now = now_ms()
local holder = accept_completion(base, team, id, result, now, keep, window_ms, channel, task)
if agent == '' then agent = holder end
if agent == '' then
  local empty = cjson.encode({wait_ms = -1, wake = {}})   -- no holder to claim for (cannot happen in progress)
  op_remember(ops, ops_prev, op_id, empty)
  return empty
end
local given = {}
for i = 14, #ARGV do given[#given + 1] = ARGV[i] end
local next_id, next_token = claim_next(base, team, agent, ARGV[13], given, now, {lease_ms = tonumber(ARGV[10]),
  max_stalls = tonumber(ARGV[11]), limits = {dead_keep = tonumber(ARGV[12]), window_ms = window_ms},
  channel = channel})
if not next_id then
  local empty = cjson.encode(next_token)
  op_remember(ops, ops_prev, op_id, empty)
  return empty
end
op_remember(ops, ops_prev, op_id, task_memo(next_id, next_token))
return task_reply(base, next_id)
