-- tools/cache_peek: a cached tool result with its remaining time to live, counting nothing.
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- ARGV[1] the entry's escaped parameters hash (its hash is KEYS[7] followed by it)
-- Reply: {pttl ms, field, value, ...}; just {-2} when there is no entry
-- Mode: read
-- Retry: safe; reads one key and writes nothing.
-- A hot read that needs no helper: it pastes no library (their functions are built on every call).

local entry = KEYS[7] .. ARGV[1]
local reply = redis.call('HGETALL', entry)
table.insert(reply, 1, redis.call('PTTL', entry))
return reply
