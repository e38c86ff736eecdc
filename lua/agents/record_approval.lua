-- agents/record_approval: append an approval record (capped stream) and update standing decisions.
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
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] agent id (for errors and events)
-- ARGV[4] fencing token ('' = none; refused while another holder's lease is live)
-- ARGV[5] tool name
-- ARGV[6] '1' approved, '0' denied
-- ARGV[7] action: once | all | deny_all
-- ARGV[8] '1' if an input summary follows, '0' if none
-- ARGV[9] input summary (already truncated)
-- Reply: the record's JSON text
-- Mode: write
-- Memory: guarded; appends an approval
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local replay = op_replay(K.ops, K.ops_prev, op_id)
if replay then return replay end
local now = now_ms()
local lerr = lease_check(K.lease, token, now)
if lerr then return fail('LEASE', lease_details(agent_id, lerr)) end

local tool, approved, action, has_summary, summary = ARGV[5], ARGV[6] == '1', ARGV[7], ARGV[8], ARGV[9]
local rec = approval_json(tool, approved, action, iso_ms(now), has_summary, summary)
redis.call('XADD', K.approvals, 'MAXLEN', APPROVAL_CAP, '*', 'tool', tool, 'rec', rec)
if action == 'all' then
  redis.call('HSET', K.decisions, tool, approved and 'allowed' or 'denied')
elseif action == 'deny_all' then
  redis.call('HSET', K.decisions, tool, 'denied')
end
return finish(op_id, channel, agent_id, 'approval', bump(), rec, {tool = tool, approved = approved, action = action})
