-- State helpers, pasted in by `--@include lib/state.lua` (it includes lib/core.lua).
-- KEYS: none of its own.
--@include lib/core.lua

-- The version ('#v') in a state hash read with HGETALL; 0 for a missing key. '#v' is written
-- first, so it is nearly always the first pair.
local function stored_version(flat)
  for i = 1, #flat, 2 do
    if flat[i] == '#v' then return tonumber(flat[i + 1]) end
  end
  return 0
end

-- The old value (nil when events are off: channel '') and the version of a state hash. The
-- event carries the old value, so with events on it is read whole and the version comes with it.
local function read_version(data, channel)
  if channel == '' then
    return nil, tonumber(redis.call('HGET', data, '#v') or '0')
  end
  local old = redis.call('HGETALL', data)
  return old, stored_version(old)
end

-- A state key's whole value is bounded: the bytes of its field names (without the '.' that
-- marks them) and encoded values. The total is kept in '#n', so an update checks the merged
-- size with one HSTRLEN per field it changes instead of reading the value.
local MAX_VALUE_BYTES = 8388608 --@param max_value_bytes

-- The size of the stored value: '#n', or counted once for a value written before '#n' existed.
local function stored_size(data, flat)
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
local function fields_size(first)
  local total = 0
  for i = first, #ARGV, 2 do total = total + #ARGV[i] - 1 + #ARGV[i + 1] end
  return total
end

-- The error for a value over MAX_VALUE_BYTES (return it from the script's top level).
local function too_large(key, size)
  return fail('INVALID', {kind = 'state', id = key, size = size, limit = MAX_VALUE_BYTES,
    reason = string.format('value is %d bytes (field names and encoded values), the maximum is %d (max_value_bytes)',
      size, MAX_VALUE_BYTES)})
end
