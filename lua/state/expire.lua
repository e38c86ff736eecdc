-- state/expire: set (ms > 0) or remove (ms = 0) the time to live of a state key.
-- KEYS[1] data hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] tombstone of a deleted key
-- ARGV[1] op id ('': setting an expiry is idempotent, nothing to de-duplicate)
-- ARGV[2] event channel (unused: an expiry set publishes nothing)
-- ARGV[3] user key (for errors)
-- ARGV[4] ttl in ms (0 = no expiry)
-- Reply: '1'
-- Mode: write
-- Memory: allowed; sets or clears a TTL; adds no data
-- Retry: safe; setting the same expiry twice has the effect of setting it once.

--@include lib/state.lua

if redis.call('EXISTS', K.base) == 0 then
  return fail('NOT_FOUND', {kind = 'state', id = ARGV[3]})
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('PEXPIRE', K.base, ttl) else redis.call('PERSIST', K.base) end
return '1'
