-- agents/restore_checkpoint: write a checkpoint's captured tracking state back (approvals, decisions, counts, workflow).
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
-- ARGV[5] checkpoint id, or '' for the latest
-- Reply: the checkpoint's parts (agent_parts in lib/agents.lua, body inline); NOT_FOUND if there is none. The checkpoint becomes the head of the
--   agent's line: the next save is its child (a branch when it had children already).
-- Mode: write
-- Memory: guarded; writes a checkpoint's state back
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin(agent_replayed)
if stop then return stop end

local id, missing = agent_find_checkpoint(agent_id, ARGV[5])
if not id then return missing end
agent_restore_raw(redis.call('HGET', K.ckpts, 'x:' .. id))
agent_set_head(agent_born(id), id)
return agent_finish(op_id, channel, agent_id, 'restore', agent_bump(), agent_parts(id, -1), {checkpoint_id = id}, '#ckpt:' .. id)
