-- agents/list_snapshots: snapshots, newest (server order) first.
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
-- ARGV[1] how many (0 = all)
-- Reply: array of snapshot JSON documents
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua


local limit = tonumber(ARGV[1])
local ids = redis.call('ZREVRANGE', K.snap_order, 0, limit > 0 and limit - 1 or -1)
local out = {}
for i = 1, #ids do out[i] = redis.call('HGET', K.snaps, ids[i]) end
return out
