-- state/expire: set (ms > 0) or remove (ms = 0) the time to live of a state key.
-- KEYS[1] data hash
-- ARGV[1] ttl in ms (0 = no expiry)
-- ARGV[2] user key (for errors)
-- Reply: '1'
-- Mode: write
-- Memory: allowed; sets or clears a TTL; adds no data
-- Retry: safe; setting the same expiry twice has the effect of setting it once.

--@include lib/core.lua

if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('NOT_FOUND', {kind = 'state', id = ARGV[2]})
end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return '1'
