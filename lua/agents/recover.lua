-- agents/recover: count a recovery attempt (at most max) and restore the newest recoverable checkpoint.
-- KEYS[1] agent meta hash (v, seq)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] lease hash
-- KEYS[5] snapshots hash
-- KEYS[6] snapshot order zset
-- KEYS[7] checkpoints hash
-- KEYS[8] checkpoint order zset
-- KEYS[9] approvals stream
-- KEYS[10] standing decisions hash
-- KEYS[11] tool usage hash
-- KEYS[12] workflow state hash
-- KEYS[13] recovery hash
-- KEYS[14] checkpoint body key prefix (body of checkpoint <id>: this .. ":" .. <id>, a string)
-- KEYS[15] staging key prefix (a large body SET by the client at this .. ":" .. <op id>, PX)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] agent id (for errors and events)
-- ARGV[4] fencing token ('' = none; refused while another holder's lease is live)
-- ARGV[5] checkpoint id, or '' for the newest recoverable one
-- ARGV[6] max recovery attempts
-- Reply: {attempts, then the restored checkpoint's parts (agent_parts in lib/agents.lua, body inline)}; RECOVERY past the limit or with no recoverable checkpoint
-- Mode: write
-- Memory: guarded; writes a checkpoint's state back
-- Retry: safe; a replayed op id returns the first reply and counts no second attempt.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin(agent_replayed)
if stop then return stop end

local id, max_attempts = ARGV[5], tonumber(ARGV[6])
local attempts = tonumber(redis.call('HGET', K.recovery, 'attempts') or '0')
if attempts >= max_attempts then
  return fail('RECOVERY', {kind = 'agent', id = agent_id, attempts = attempts, max_attempts = max_attempts,
    reason = 'recovery attempts exhausted (' .. attempts .. ' of ' .. max_attempts .. ')'})
end
if id == '' then
  local members = redis.call('ZREVRANGE', K.ckpt_order, 0, -1)
  for i = 1, #members do
    local cid = agent_member_id(members[i])
    if redis.call('HGET', K.ckpts, 'r:' .. cid) == '1' then id = cid break end
  end
  if id == '' then
    return fail('RECOVERY', {kind = 'agent', id = agent_id, reason = 'no recoverable checkpoint'})
  end
elseif redis.call('HGET', K.ckpts, 'r:' .. id) ~= '1' then
  local why = redis.call('HEXISTS', K.ckpts, 'r:' .. id) == 1 and 'is not recoverable' or 'does not exist'
  return fail('RECOVERY', {kind = 'agent', id = agent_id, checkpoint_id = id, reason = 'checkpoint ' .. id .. ' ' .. why})
end
attempts = redis.call('HINCRBY', K.recovery, 'attempts', 1)
redis.call('HSET', K.recovery, 'last_ms', now, 'last_checkpoint', id)
agent_restore_raw(redis.call('HGET', K.ckpts, 'x:' .. id))
agent_set_head(agent_born(id), id)
local reply = agent_parts(id, -1)
table.insert(reply, 1, tostring(attempts))
return agent_finish(op_id, channel, agent_id, 'recover', agent_bump(), reply, {checkpoint_id = id, attempts = attempts},
  '#recover:' .. attempts .. ':' .. id)
