-- agents/fork_checkpoint: start a new line from a checkpoint: store a copy as a new checkpoint whose parent
-- it is, write its tracking state back, make the copy the line's head; retention as on save. One script.
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
-- ARGV[3] agent id (the agent the new line belongs to; for errors and events)
-- ARGV[4] fencing token ('' = none; refused while another holder's lease is live)
-- ARGV[5] new checkpoint id (refused with EXISTS if this agent has one of that id)
-- ARGV[6] step (integer >= 0, the source's)
-- ARGV[7] '1' recoverable, '0' not (the source's)
-- ARGV[8] the new checkpoint's caller JSON object (the source's state, metadata...; its first member "~op" the
--   op id), stored as it is at KEYS[14] .. ':' .. <new id> (as save_checkpoint's ARGV[8])
-- ARGV[9] max checkpoints kept (>= 1)
-- ARGV[10] source agent id: '' = this agent (the source is read here, atomically), else another agent
--   (step 2 of a fork across agents: the source was read by agents/fork_source; this agent must have no
--   snapshot, checkpoint or tracking state yet, else EXISTS: a fork never mixes into an existing agent; a
--   lease on it is fine and is checked)
-- ARGV[11] source checkpoint id
-- ARGV[12] source born seq (another agent's; ignored for this agent's own)
-- ARGV[13] source order member as read ('' = any): this agent's source must still be that save, else CONFLICT
-- ARGV[14] source raw tracking (our envelope from agents/fork_source; only with another agent)
-- Reply: what the server added, as save_checkpoint replies ('+' first if the agent had no checkpoint;
--   stored as save_checkpoint stores it: members in s:<id>, op id in t:<id>, the body in its key);
--   NOT_FOUND if this agent's source is gone, CONFLICT if it was saved again since ARGV[13] was read
-- Mode: write
-- Memory: guarded; stores a checkpoint
-- Retry: safe; a replayed op id returns the first reply and writes nothing (as save_checkpoint).

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin(agent_replayed)
if stop then return stop end

local id, step, rec, body, keep = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8], tonumber(ARGV[9])
local src_agent, src, guard = ARGV[10], ARGV[11], ARGV[13]
local raw, lin
if src_agent == '' then
  local member = redis.call('HGET', K.ckpts, 'm:' .. src)
  if not member then
    return fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/' .. src, agent_id = agent_id})
  end
  if guard ~= '' and member ~= guard then
    return fail('CONFLICT', {kind = 'checkpoint', id = agent_id .. '/' .. src, agent_id = agent_id,
      reason = 'the checkpoint was saved again while it was being forked'})
  end
  raw = redis.call('HGET', K.ckpts, 'x:' .. src)
  lin = {b = 0, p = src, pa = '', pb = agent_born(src), f = 1}
else
  if redis.call('EXISTS', K.snaps, K.ckpts, K.approvals, K.decisions, K.tools, K.workflow) > 0 then
    return fail('EXISTS', {kind = 'agent', id = agent_id,
      reason = 'a fork into another agent starts a new agent; this one already has state (delete_agent first)'})
  end
  raw = ARGV[14]
  lin = {b = 0, p = src, pa = src_agent, pb = tonumber(ARGV[12]), f = 1}
end
if redis.call('HEXISTS', K.ckpts, 'm:' .. id) == 1 then
  return fail('EXISTS', {kind = 'checkpoint', id = agent_id .. '/' .. id, agent_id = agent_id})
end
local first = redis.call('EXISTS', K.ckpt_order) == 0
agent_restore_raw(raw)
local seq = agent_next_seq()
lin.b = seq
local member = agent_ckpt_member(seq, id)
local iso = cjson.encode(agent_iso_ms(now))
local added = agent_save_head(iso, seq) ..
  '"fencing_token":' .. (string.match(token, '^%d+$') or 'null') .. ',"timestamp":' .. iso .. ',' ..
  agent_tracking_json() .. agent_lineage_members(lin, agent_id)
local reply = agent_save_reply(added, first)
redis.call('SET', agent_body_key(id), body)
redis.call('HSET', K.ckpts, 's:' .. id, added, 't:' .. id, op_id, 'x:' .. id, raw, 'm:' .. id, member, 'r:' .. id, rec,
  'l:' .. id, cjson.encode(lin))
redis.call('ZADD', K.ckpt_order, step, member)
agent_set_head(seq, id)
agent_trim_checkpoints(keep)
return agent_finish(op_id, channel, agent_id, 'fork', agent_bump(), reply,
  {checkpoint_id = id, step = step, parent_checkpoint_id = src, parent_agent_id = src_agent ~= '' and src_agent or agent_id},
  agent_remember_save(reply, id))
