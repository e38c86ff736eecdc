-- tools/cache_delete: invalidate a cached tool result.
-- KEYS[1] cache entry hash (sub-key of the tool, reported as kind 'toolcache')
-- KEYS[2] ops hash (current generation) of the tool
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel of the entry (kind 'toolcache'; '' = no event)
-- ARGV[3] entry id ('<tool>:<hash>')
-- Reply: '1' if an entry was deleted, '0' if there was none
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; deleting twice deletes once, and a replayed op id returns the first reply.

--@include lib/core.lua

local entry, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, id = ARGV[1], ARGV[2], ARGV[3]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local existed = redis.call('DEL', entry)
if existed == 1 then publish(channel, {key = id, op = 'delete'}) end
op_remember(ops, ops_prev, op_id, tostring(existed))
return tostring(existed)
