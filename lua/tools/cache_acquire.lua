-- tools/cache_acquire: read a cache entry and count the hit, or take the short lock to compute it (stampede protection).
-- KEYS[1] cache entry hash (sub-key of the tool, reported as kind 'toolcache')
-- KEYS[2] compute lock of the entry (same hash tag)
-- KEYS[3] stats hash of the tool
-- KEYS[4] ops hash (current generation) of the tool
-- KEYS[5] ops of the previous generation (hash)
-- ARGV[1] op id (of this call; a hit is counted once per op id)
-- ARGV[2] event channel of the tool ('' = no event)
-- ARGV[3] tool name
-- ARGV[4] caller's lock token
-- ARGV[5] lock ttl in ms (a crashed computer blocks the others at most this long)
-- Reply: {'hit', pttl ms, field, value, ...} | {'compute'} (the caller holds the lock) | {'wait', lock pttl ms}
-- Mode: write
-- Memory: allowed; a cache read; on a miss it takes a short lock (one small key with a TTL)
-- Retry: safe; the lock is identified by the caller's token, so a resent call finds it already held by itself, and a replayed op id counts no second hit.

--@include lib/core.lua
--@include lib/tool_cache.lua

local entry, lock, stats, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op_id, channel, tool, token, lock_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])

local fields = redis.call('HGETALL', entry)
if #fields > 0 then
  local reply = {'hit', redis.call('PTTL', entry)}
  for _, v in ipairs(fields) do reply[#reply + 1] = v end
  tool_cache_count_once(stats, ops, ops_prev, op_id, channel, tool, 'hit')
  return reply
end
local holder = redis.call('GET', lock)
if holder == token or (not holder and redis.call('SET', lock, token, 'NX', 'PX', lock_ms)) then
  return {'compute'}
end
return {'wait', redis.call('PTTL', lock)}
