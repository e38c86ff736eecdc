-- state/save: replace the whole value of a state key, bumping its version.
-- KEYS[1] data hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] tombstone: the last version of a deleted key, kept 24 h so versions never repeat
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] user key (for errors and events)
-- ARGV[4] expected version ('' = any; 0 = the key must not exist)
-- ARGV[5] ttl in ms (0 = no expiry)
-- ARGV[6..] field, encoded value, ... (fields carry the '.' prefix)
-- Reply: the new version (string)
-- Mode: write
-- Memory: guarded; stores a value
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/state.lua

local data, ops, ops_prev = K.base, K.ops, K.ops_prev
local op_id, channel, key, expected, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])

local old, current, stop = state_begin(false)
if stop then return stop end

local size = state_fields_size(6)
if size > MAX_VALUE_BYTES then return state_too_large(key, size) end

local version = state_next_version(current)
local new = {'#v', tostring(version), '#n', tostring(size)}
for i = 6, #ARGV do new[#new + 1] = ARGV[i] end
redis.call('DEL', data)
for i = 1, #new, 1000 do  -- chunks keep unpack() under Lua's stack limit
  redis.call('HSET', data, unpack(new, i, math.min(i + 999, #new)))
end
if ttl > 0 then redis.call('PEXPIRE', data, ttl) end

if old then publish(channel, {key = key, op = 'save', version = version, old = old, new = new}) end
op_remember(ops, ops_prev, op_id, tostring(version))
return tostring(version)
