-- tools/cache_release: give up the compute lock of a cache entry (the computation failed).
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- ARGV[1] op id ('': releasing is idempotent, nothing to de-duplicate)
-- ARGV[2] event channel of the tool (unused: a release publishes nothing)
-- ARGV[3] tool name
-- ARGV[4] the entry's escaped parameters hash (its lock is KEYS[8] followed by it)
-- ARGV[5] caller's lock token
-- Reply: '1' if released, '0' if the lock was not (or no longer) the caller's
-- Mode: write
-- Memory: allowed; deletes the compute lock
-- Retry: safe; releasing twice releases once, and another caller's lock is never touched.

--@include lib/tools.lua

local lock = K.lock_prefix .. ARGV[4]
if redis.call('GET', lock) == ARGV[5] then
  redis.call('DEL', lock)
  return '1'
end
return '0'
