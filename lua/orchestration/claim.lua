-- orchestration/claim: give an agent the best pending task it can do, with a lease and a fencing token.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
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
--   (+ limited = true when a team limit held a task back; wait_ms is then at most when it may pass)
-- Mode: write
-- Memory: guarded; starts new work, whose result will need memory
-- Retry: safe; a replayed op id returns the task the first call claimed, as it is now (an empty claim
--   is not remembered).
-- Counts (team hash): the claim in the wake-up histogram, expired leases it collects in stalls_total.
--
-- The claim itself is claim_next (lib/orchestration_claim.lua): expired leases and due retries
-- first, then the heads of the candidate pending zsets, O(C log n) for C capabilities.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_limits.lua
--@include lib/orchestration_claim.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local replay = task_replay(base, ops, ops_prev, op_id)
if replay then return replay end
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end

local given = {}
for i = 10, #ARGV do given[#given + 1] = ARGV[i] end
local id, token = claim_next(base, team, agent, ARGV[9], given, now_ms(), {lease_ms = tonumber(ARGV[5]),
  max_stalls = tonumber(ARGV[6]), limits = {dead_keep = tonumber(ARGV[7]), window_ms = tonumber(ARGV[8])},
  channel = channel})
if not id then return cjson.encode(token) end
op_remember(ops, ops_prev, op_id, task_memo(id, token))
return task_reply(base, id)
