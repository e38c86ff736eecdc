-- State helpers, pasted in by `--@include lib/state.lua` (after lib/core.lua).
-- KEYS: none of its own.

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
