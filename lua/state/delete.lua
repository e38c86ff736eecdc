-- state/delete: remove a state key.
-- KEYS[1] data hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] tombstone: the last version of a deleted key, kept 24 h so versions never repeat
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] user key (for errors and events)
-- ARGV[4] expected version ('' = any)
-- Reply: '1' if the key existed, '0' if not
-- Mode: write
-- Memory: allowed; deletes; frees memory (the tombstone is small and expires)
-- Retry: safe; deleting twice deletes once, and a replayed op id returns the first reply.
-- A key saved again after a delete continues from the deleted version + 1, so a client holding
-- a version from before the delete can never match (within the 24 h tombstone).

--@include lib/state.lua

local TOMBSTONE_MS = 86400000

local data, ops, ops_prev, tomb = K.base, K.ops, K.ops_prev, K.tomb
local op_id, channel, key, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local old, current, stop = state_begin(false)
if stop then return stop end
if current == 0 then
  op_remember(ops, ops_prev, op_id, '0')
  return '0'
end

redis.call('DEL', data)
redis.call('SET', tomb, current + 1, 'PX', TOMBSTONE_MS)
publish(channel, {key = key, op = 'delete', version = current + 1, old = old, new = false})
op_remember(ops, ops_prev, op_id, '1')
return '1'
