-- tools/cache_acquire: read a cache entry and count the hit, or take the short lock to compute it (stampede protection).
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
-- ARGV[4] the entry's escaped parameters hash (its hash is KEYS[7], its lock KEYS[8], followed by it)
-- ARGV[5] caller's lock token
-- ARGV[6] lock ttl in ms (a crashed computer blocks the others at most this long)
-- Reply: {'hit', pttl ms, field, value, ...} | {'compute'} (the caller holds the lock) | {'wait', lock pttl ms}
-- Mode: write
-- Memory: allowed; a cache read; on a miss it takes a short lock (one small key with a TTL)
-- Retry: safe; the lock is identified by the caller's token, so a resent call finds it already held by itself, and a replayed op id counts no second hit.

--@include lib/tool_cache.lua

local entry, lock = K.cache_prefix .. ARGV[4], K.lock_prefix .. ARGV[4]
local token, lock_ms = ARGV[5], tonumber(ARGV[6])

local fields = redis.call('HGETALL', entry)
if #fields > 0 then
  local reply = {'hit', redis.call('PTTL', entry)}
  for _, v in ipairs(fields) do reply[#reply + 1] = v end
  tool_cache_count_once('hit')
  return reply
end
local holder = redis.call('GET', lock)
if holder == token or (not holder and redis.call('SET', lock, token, 'NX', 'PX', lock_ms)) then
  return {'compute'}
end
return {'wait', redis.call('PTTL', lock)}
