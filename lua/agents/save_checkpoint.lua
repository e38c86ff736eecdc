-- agents/save_checkpoint: store a checkpoint with the agent's tracking state captured in the same script.
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
-- ARGV[5] checkpoint id
-- ARGV[6] step (integer >= 0)
-- ARGV[7] '1' recoverable, '0' not
-- ARGV[8] the caller's checkpoint JSON object (state, metadata, ...; Python-encoded, its first member "~op" the
--   op id), or '' when the client SET that body at the staging key KEYS[15] .. ':' .. <op id> (with PX) in
--   the command before this one: the script RENAMEs it into place, so a body of megabytes is never copied
--   into Lua. Stored as it is, at KEYS[14] .. ':' .. <id>.
-- ARGV[9] '1' to add the server time as timestamp (the caller gave none)
-- ARGV[10] max checkpoints kept (>= 1)
-- Reply: only what the server added, as a JSON object, after a '+' if the agent had no checkpoint
--   before (the client then lists it in the cross-agent index): {"saved_at", "sequence", "fencing_token",
--   "timestamp" (only if ARGV[9] is '1'), "approval_history", "tool_usage_counts", "workflow_run_id",
--   "workflow_state", "standing_decisions", "parent_checkpoint_id", "parent_agent_id"}: the parent is the
--   head of the agent's line (a re-save of an existing id keeps its parent); the checkpoint becomes the
--   head. Those members (without braces) are stored in s:<id>, the op id in t:<id>; the document a load
--   gives is the body's members and these (the client joins them the same way).
--   NOT_FOUND if the body was to be staged and is not there (expired: sent over a minute before).
-- Mode: write
-- Memory: guarded; stores a checkpoint
-- Retry: safe; a replayed op id returns the first reply and writes nothing but deleting its staged body
--   (see agent_remember_save in lib/agents.lua: a long reply is re-read from s:<id>, NOT_FOUND if that
--   save is gone); a refused save (LEASE) deletes its staged body too.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin(agent_replayed)
local body, stage = ARGV[8], ''
if body == '' then stage = agent_stage_key(op_id) end
if stop then
  if stage ~= '' then redis.call('DEL', stage) end
  return stop
end
local id, step, rec, add_ts, keep = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[9], tonumber(ARGV[10])
if stage ~= '' and redis.call('EXISTS', stage) == 0 then
  return fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/' .. id, agent_id = agent_id,
    reason = 'the staged body of this save is gone (it expires a minute after it was sent); nothing was written'})
end
local old = redis.call('HGET', K.ckpts, 'm:' .. id)
local first = redis.call('EXISTS', K.ckpt_order) == 0
if old then redis.call('ZREM', K.ckpt_order, old) end
local seq = agent_next_seq()
local lin_text = old and redis.call('HGET', K.ckpts, 'l:' .. id)
local lin = lin_text and cjson.decode(lin_text) or agent_new_lineage(seq, false)
if old and not lin_text then lin = {b = agent_born(id), p = '', pa = '', pb = 0, f = 0} end
local member = agent_ckpt_member(seq, id)
local iso = cjson.encode(agent_iso_ms(now))
local added = agent_save_head(iso, seq) ..
  '"fencing_token":' .. (string.match(token, '^%d+$') or 'null') ..
  (add_ts == '1' and (',"timestamp":' .. iso) or '') .. ',' .. agent_tracking_json() ..
  agent_lineage_members(lin, agent_id)
local reply = agent_save_reply(added, first)
if stage ~= '' then
  redis.call('RENAME', stage, agent_body_key(id))
  redis.call('PERSIST', agent_body_key(id))
else
  redis.call('SET', agent_body_key(id), body)
end
redis.call('HDEL', K.ckpts, 'd:' .. id)  -- a re-save of a checkpoint the previous release stored
redis.call('HSET', K.ckpts, 's:' .. id, added, 't:' .. id, op_id, 'x:' .. id, agent_tracking_raw(), 'm:' .. id,
  member, 'r:' .. id, rec, 'l:' .. id, cjson.encode(lin))
redis.call('ZADD', K.ckpt_order, step, member)
agent_set_head(lin.b, id)
agent_trim_checkpoints(keep)
return agent_finish(op_id, channel, agent_id, 'checkpoint', agent_bump(), reply, {checkpoint_id = id, step = step},
  agent_remember_save(reply, id))
