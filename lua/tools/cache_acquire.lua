-- tools/cache_acquire: read a cache entry, or take the short lock to compute it (stampede protection).
-- KEYS[1] cache entry hash (kind 'toolcache')
-- KEYS[2] compute lock of the entry (same hash tag)
-- ARGV[1] caller's lock token
-- ARGV[2] lock ttl in ms (a crashed computer blocks the others at most this long)
-- Reply: {'hit', pttl ms, field, value, ...} | {'compute'} (the caller holds the lock) | {'wait', lock pttl ms}
-- Mode: write
-- Retry: safe; the lock is identified by the caller's token, so a resent call finds it already held by itself.

local entry, lock, token, lock_ms = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])

local fields = redis.call('HGETALL', entry)
if #fields > 0 then
  local reply = {'hit', redis.call('PTTL', entry)}
  for _, v in ipairs(fields) do reply[#reply + 1] = v end
  return reply
end
local holder = redis.call('GET', lock)
if holder == token or (not holder and redis.call('SET', lock, token, 'NX', 'PX', lock_ms)) then
  return {'compute'}
end
return {'wait', redis.call('PTTL', lock)}
