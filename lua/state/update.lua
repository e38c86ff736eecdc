-- state/update: shallow-merge top-level fields into a state key, bumping its version.
-- KEYS[1] data hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] tombstone: the last version of a deleted key, kept 24 h so versions never repeat
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] user key (for errors and events)
-- ARGV[4] expected version ('' = any)
-- ARGV[5] ttl in ms (0 = leave the key's expiry as it is)
-- ARGV[6] '1' to create a missing key, '0' to fail with NOT_FOUND
-- ARGV[7..] field, encoded value, ... (fields carry the '.' prefix)
-- Reply: the new version (string)
-- Mode: write
-- Memory: guarded; merges fields
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/state.lua

local data, ops, ops_prev = K.base, K.ops, K.ops_prev
local op_id, channel, key, expected, ttl, upsert = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]

local old, current, stop = state_begin(upsert ~= '1')
if stop then return stop end

local size = 0  -- of the merged value: stored, less the fields replaced, plus the new ones
if current > 0 then size = state_stored_size(data, old) end
for i = 7, #ARGV, 2 do
  local before = current > 0 and redis.call('HSTRLEN', data, ARGV[i]) or 0
  if before > 0 then size = size - (#ARGV[i] - 1) - before end  -- encoded values are never empty
  size = size + #ARGV[i] - 1 + #ARGV[i + 1]
end
if size > MAX_VALUE_BYTES then return state_too_large(key, size) end

local version = state_next_version(current)
redis.call('HSET', data, '#v', version, '#n', size, unpack(ARGV, 7, math.min(7 + 995, #ARGV)))
for i = 7 + 996, #ARGV, 1000 do  -- chunks keep unpack() under Lua's stack limit
  redis.call('HSET', data, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ttl > 0 then redis.call('PEXPIRE', data, ttl) end

if old then
  publish(channel, {key = key, op = 'update', version = version, old = old, new = redis.call('HGETALL', data)})
end
op_remember(ops, ops_prev, op_id, tostring(version))
return tostring(version)
