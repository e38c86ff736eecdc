-- State helpers, pasted in by `--@include lib/state.lua` (it includes lib/core.lua).
-- Every state script takes the same 4 KEYS, all under the hash tag {state:<key>}
-- (agentstate_redis/state.py, StateManager.layout):
--   1 data hash (the base key: its expiry reaches subscribers as op "expired")
--   2 ops hash   3 ops of the previous generation
--   4 tombstone: the last version of a deleted key, kept 24 h so versions never repeat
--@include lib/core.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], tomb = KEYS[4]}

-- The version ('#v') in a state hash read with HGETALL; 0 for a missing key. '#v' is written
-- first, so it is nearly always the first pair.
local function state_stored_version(flat)
  for i = 1, #flat, 2 do
    if flat[i] == '#v' then return tonumber(flat[i + 1]) end
  end
  return 0
end

-- The old value (nil when events are off: channel '') and the version of a state hash. The
-- event carries the old value, so with events on it is read whole and the version comes with it.
local function state_read_version(data, channel)
  if channel == '' then
    return nil, tonumber(redis.call('HGET', data, '#v') or '0')
  end
  local old = redis.call('HGETALL', data)
  return old, state_stored_version(old)
end

-- A state key's whole value is bounded: the bytes of its field names (without the '.' that
-- marks them) and encoded values. The total is kept in '#n', so an update checks the merged
-- size with one HSTRLEN per field it changes instead of reading the value.
local MAX_VALUE_BYTES = 8388608 --@param max_value_bytes

-- The size of the stored value: '#n', or counted once for a value written before '#n' existed.
local function state_stored_size(data, flat)
  local n = redis.call('HGET', data, '#n')
  if n then return tonumber(n) end
  flat = flat or redis.call('HGETALL', data)
  local total = 0
  for i = 1, #flat, 2 do
    if string.byte(flat[i]) == 46 then total = total + #flat[i] - 1 + #flat[i + 1] end
  end
  return total
end

-- The size of the fields (name, encoded value, ...) in ARGV from index `first` on.
local function state_fields_size(first)
  local total = 0
  for i = first, #ARGV, 2 do total = total + #ARGV[i] - 1 + #ARGV[i + 1] end
  return total
end

-- The error for a value over MAX_VALUE_BYTES (return it from the script's top level).
local function state_too_large(key, size)
  return fail('INVALID', {kind = 'state', id = key, size = size, limit = MAX_VALUE_BYTES,
    reason = string.format('value is %d bytes (field names and encoded values), the maximum is %d (max_value_bytes)',
      size, MAX_VALUE_BYTES)})
end

-- The prologue of every state write (ARGV op id, channel, key, expected version): the op-id replay, the old value and version (state_read_version), NOT_FOUND for a
-- missing key when ``must_exist``, CONFLICT when the expected version ('' = any) is not the current one.
-- Returns old, current and nil, or nil, nil and a reply to return at once.
local function state_begin(must_exist)
  local replay = op_replay(K.ops, K.ops_prev, ARGV[1])
  if replay then return nil, nil, replay end
  local old, current = state_read_version(K.base, ARGV[2])
  if must_exist and current == 0 then
    return nil, nil, fail('NOT_FOUND', {kind = 'state', id = ARGV[3]})
  end
  local expected = ARGV[4]
  if expected ~= '' and tonumber(expected) ~= current then
    return nil, nil, fail('CONFLICT', {kind = 'state', id = ARGV[3], expected = tonumber(expected), actual = current})
  end
  return old, current, nil
end

-- The version a write gives a key at version ``current``: the next one, or for a missing key the
-- one after its tombstone's (a key saved again after a delete never repeats a version).
local function state_next_version(current)
  if current > 0 then return current + 1 end
  return tonumber(redis.call('GET', K.tomb) or '0') + 1
end
