-- workflows/lease_acquire: take (or, for the same owner, renew) the right to drive a workflow.
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
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] workflow id
-- ARGV[4] owner
-- ARGV[5] lease ttl in ms
-- Reply: the fencing token (string); it only grows, so a token is never handed out twice
-- Mode: write
-- Memory: guarded; a new lease
-- Retry: safe; a replayed op id returns the first token, and the same owner re-acquiring gets its token back.

--@include lib/core.lua
--@include lib/workflows.lua
--@include lib/lease.lua

local base, ops, ops_prev, lease = K.base, K.ops, K.ops_prev, K.lease
local op_id, channel, id, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local r = op_replay(ops, ops_prev, op_id) if r then return r end
if redis.call('EXISTS', base) == 0 then return fail('NOT_FOUND', {kind = 'workflow', id = id}) end
local now = now_ms()
local token, err = lease_acquire(lease, owner, tonumber(ARGV[5]), now)
if err then
  err.kind, err.id = 'workflow', id
  return fail('LEASE', err)
end
publish(channel, {key = id, op = 'lease', owner = owner, token = token,
                  version = tonumber(redis.call('HGET', base, '#v')), at = now})
op_remember(ops, ops_prev, op_id, tostring(token))
return tostring(token)
