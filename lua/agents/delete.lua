-- agents/delete: delete everything stored for the agent (snapshots, checkpoints, tracking, recovery); the lease hash stays so fencing tokens keep growing.
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
-- Reply: '1' if anything existed, '0' if not, then ':' and the agent's next incarnation (for index_drop)
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin()
if stop then return stop end

local version = tonumber(redis.call('HGET', K.meta, 'v') or '0') + 1
local members = redis.call('ZRANGE', K.ckpt_order, 0, -1)
for i = 1, #members do redis.call('DEL', agent_body_key(agent_member_id(members[i]))) end
local n = redis.call('DEL', K.meta, K.snaps, K.snap_order, K.ckpts, K.ckpt_order, K.approvals,
  K.decisions, K.tools, K.workflow, K.recovery)
local reply = (n > 0 and '1' or '0') .. ':' .. redis.call('HINCRBY', K.lease, 'ix', 1)
publish(channel, {key = agent_id, op = 'delete', version = version})
op_remember(K.ops, K.ops_prev, op_id, reply)
return reply
