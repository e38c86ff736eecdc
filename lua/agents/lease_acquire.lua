-- agents/lease_acquire: take (or renew, for the same owner) the agent's ownership lease.
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
-- ARGV[5] owner id
-- ARGV[6] lease time in ms
-- Reply: the fencing token (string); LEASE if someone else holds it
-- Mode: write
-- Memory: guarded; a new lease
-- Retry: safe; a replayed op id returns the first token; the same owner re-acquiring gets the same token.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua


local op_id, channel, agent_id = ARGV[1], ARGV[2], ARGV[3]
local replay = op_replay(K.ops, K.ops_prev, op_id)
if replay then return replay end
local tok, err = lease_acquire(K.lease, ARGV[5], tonumber(ARGV[6]), now_ms())
if not tok then return fail('LEASE', agent_lease_details(agent_id, err)) end
return agent_finish(op_id, channel, agent_id, 'lease', agent_bump(), tostring(tok), {owner = ARGV[5], token = tok})
