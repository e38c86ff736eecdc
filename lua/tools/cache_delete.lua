-- tools/cache_delete: invalidate a cached tool result.
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel of the tool ('' = no event)
-- ARGV[3] tool name
-- ARGV[4] the entry's escaped parameters hash (its hash is KEYS[7] followed by it)
-- ARGV[5] parameters hash
-- ARGV[6] event channel of the entry (kind 'toolcache', id '<tool>:<hash>'; '' = no event)
-- Reply: '1' if an entry was deleted, '0' if there was none
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; deleting twice deletes once, and a replayed op id returns the first reply.

--@include lib/tools.lua

local stop = tool_begin(K)
if stop then return stop end

local existed = redis.call('DEL', K.cache_prefix .. ARGV[4])
if existed == 1 then publish(ARGV[6], {key = ARGV[3] .. ':' .. ARGV[5], op = 'delete'}) end
return tool_done(K, tostring(existed))
