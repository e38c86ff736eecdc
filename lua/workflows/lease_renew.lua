-- workflows/lease_renew: extend the lease held with a fencing token.
-- KEYS[1] workflow hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] context hash
-- KEYS[5] step records hash
-- KEYS[6] step status hash
-- KEYS[7] history list
-- KEYS[8] checkpoint zset
-- KEYS[9] checkpoint data hash
-- KEYS[10] lease hash
-- ARGV[1] workflow id
-- ARGV[2] fencing token
-- ARGV[3] lease ttl in ms
-- Reply: '1'
-- Mode: write
-- Memory: allowed; keeps the holder's lease (a deadline field)
-- Retry: safe; renewing twice only moves the deadline to now + ttl again.

--@include lib/core.lua
--@include lib/workflows.lua
--@include lib/lease.lua

if redis.call('EXISTS', K.base) == 0 then return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]}) end
local err = lease_renew(K.lease, ARGV[2], tonumber(ARGV[3]), now_ms())
if err then
  err.kind, err.id = 'workflow', ARGV[1]
  return fail('LEASE', err)
end
return '1'
