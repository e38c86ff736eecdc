-- agents/save_snapshot: store a snapshot, keeping the newest max_snapshots (server order).
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
-- ARGV[5] snapshot id
-- ARGV[6] snapshot JSON object (Python-encoded, without saved_at) WITHOUT its closing '}' (see save_checkpoint)
-- ARGV[7] max snapshots kept (>= 1)
-- Reply: only what the server added, as a JSON object: {"saved_at", "sequence"}. The stored document
--   is ARGV[6], ',', then the reply without its opening '{'.
-- Mode: write
-- Memory: guarded; stores a snapshot
-- Retry: safe; a replayed op id returns the first reply (remembered as it is: it is short) and writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

local op_id, channel, agent_id, token, now, stop = agent_begin()
if stop then return stop end

local id, body, keep = ARGV[5], ARGV[6], tonumber(ARGV[7])
local seq = agent_next_seq()
local added = '"saved_at":' .. cjson.encode(agent_iso_ms(now)) .. ',"sequence":' .. seq
redis.call('HSET', K.snaps, id, body .. ',' .. added .. '}')
redis.call('ZADD', K.snap_order, seq, id)
local n = redis.call('ZCARD', K.snap_order)
if n > keep then
  local victims = redis.call('ZRANGE', K.snap_order, 0, n - keep - 1)
  for i = 1, #victims do redis.call('HDEL', K.snaps, victims[i]) end
  redis.call('ZREMRANGEBYRANK', K.snap_order, 0, n - keep - 1)
end
return agent_finish(op_id, channel, agent_id, 'snapshot', agent_bump(), '{' .. added .. '}', {snapshot_id = id})
