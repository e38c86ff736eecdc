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
-- KEYS[14] checkpoint body key prefix (body of checkpoint <id>: this .. ":" .. <id>, a string)
-- KEYS[15] staging key prefix (a large body SET by the client at this .. ":" .. <op id>, PX)
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

local op_id, channel, agent_id, token, now, stop = agent_begin()
if stop then return stop end

local tool, approved, action, has_summary, summary = ARGV[5], ARGV[6] == '1', ARGV[7], ARGV[8], ARGV[9]
local rec = agent_approval_json(tool, approved, action, agent_iso_ms(now), has_summary, summary)
redis.call('XADD', K.approvals, 'MAXLEN', APPROVAL_CAP, '*', 'tool', tool, 'rec', rec)
if action == 'all' then
  redis.call('HSET', K.decisions, tool, approved and 'allowed' or 'denied')
elseif action == 'deny_all' then
  redis.call('HSET', K.decisions, tool, 'denied')
end
return agent_finish(op_id, channel, agent_id, 'approval', agent_bump(), rec, {tool = tool, approved = approved, action = action})
