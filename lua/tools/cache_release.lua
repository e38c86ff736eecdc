-- tools/cache_release: give up the compute lock of a cache entry (the computation failed).
-- KEYS[1] compute lock of the entry
-- ARGV[1] caller's lock token
-- Reply: '1' if released, '0' if the lock was not (or no longer) the caller's
-- Mode: write
-- Memory: allowed; deletes the compute lock
-- Retry: safe; releasing twice releases once, and another caller's lock is never touched.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return '1'
end
return '0'
