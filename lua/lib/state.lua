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
