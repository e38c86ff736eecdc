-- orchestration/pause: pause or resume a team's claims.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] 'pause' or 'resume'
-- Reply: '1' the team's state changed, '0' it already was paused (resumed)
-- Mode: write
-- Memory: allowed; a flag and a few markers; pausing is how an operator sheds load
-- Retry: safe; pausing a paused team (resuming a running one) changes nothing, and a replayed op id
--   returns the first reply.
--
-- While paused every claim (claim_task, complete_and_claim) returns nothing and its blocked claimers
-- wait on :wake-resume; heartbeats, completions, failures, releases and assign_task still work.
-- Resume pushes markers there (WAKE_KEEP, gone after WAKE_TTL_MS), so blocked claimers wake at once.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, action = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local paused = redis.call('HGET', base, CTL_FIELDS.paused) == '1'
local resume_key = sub(base, CTL.wake_resume)
local reply = '0'
if action == 'pause' and not paused then
  redis.call('HSET', base, CTL_FIELDS.paused, '1')
  redis.call('DEL', resume_key)
  reply = '1'
elseif action == 'resume' and paused then
  redis.call('HDEL', base, CTL_FIELDS.paused)
  for _ = 1, WAKE_KEEP do redis.call('LPUSH', resume_key, '1') end
  redis.call('PEXPIRE', resume_key, WAKE_TTL_MS)
  reply = '1'
end
if reply == '1' then
  publish(channel, {key = team, op = 'team_' .. action .. 'd', version = bump(base), paused = action == 'pause'})
end
op_remember(ops, ops_prev, op_id, reply)
return reply
