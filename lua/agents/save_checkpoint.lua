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
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] agent id (for errors and events)
-- ARGV[4] fencing token ('' = none; refused while another holder's lease is live)
-- ARGV[5] checkpoint id
-- ARGV[6] step (integer >= 0)
-- ARGV[7] '1' recoverable, '0' not
-- ARGV[8] caller's checkpoint JSON object (state, metadata, ...; Python-encoded) WITHOUT its closing '}'
--   (so the body, often 100s of KB, is copied once inside Lua: a 200 KB Lua string costs ~0.2 ms)
-- ARGV[9] '1' to add the server time as timestamp (the caller gave none)
-- ARGV[10] max checkpoints kept (>= 1)
-- Reply: only what the server added, as a JSON object, after a '+' if the agent had no checkpoint
--   before (the client then lists it in the cross-agent index): {"saved_at", "sequence", "fencing_token",
--   "timestamp" (only if ARGV[9] is '1'), "approval_history", "tool_usage_counts", "workflow_run_id",
--   "workflow_state", "standing_decisions", "parent_checkpoint_id", "parent_agent_id"}: the parent is the
--   head of the agent's line (a re-save of an existing id keeps its parent); the checkpoint becomes the
--   head. The stored document is ARGV[8], ',', then the reply without its opening '{'
--   (the client rebuilds it the same way).
-- Mode: write
-- Memory: guarded; stores a checkpoint
-- Retry: safe; a replayed op id returns the first reply and writes nothing (see agent_remember_save in
--   lib/agents.lua: a long reply is re-cut from the stored document, NOT_FOUND if that save is gone).

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin(agent_replayed)
if stop then return stop end

local id, step, rec, body, add_ts, keep = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
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
local doc = body .. ',' .. added .. '}'
local reply = agent_save_reply(added, first)
redis.call('HSET', K.ckpts, 'd:' .. id, doc, 'x:' .. id, agent_tracking_raw(), 'm:' .. id, member, 'r:' .. id, rec,
  'l:' .. id, cjson.encode(lin))
redis.call('ZADD', K.ckpt_order, step, member)
agent_set_head(lin.b, id)
agent_trim_checkpoints(keep)
return agent_finish(op_id, channel, agent_id, 'checkpoint', agent_bump(), reply, {checkpoint_id = id, step = step},
  agent_remember_save(reply, seq, now, #body + 2, id))
