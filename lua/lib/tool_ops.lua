-- The prologue and the end every tool write shares, whatever its layout (lib/tools.lua,
-- lib/tool_links.lua, lib/tool_retries.lua), pasted in by `--@include lib/tool_ops.lua` (it
-- includes lib/core.lua). The functions take the layout's K table, so they need no include order.
-- KEYS: the including script's layout (TOOL 8, LINKS 3 or RETRIES 5; ops at K.ops, K.ops_prev).
--@include lib/core.lua

-- The op-id replay (ARGV[1]) on layout ``keys``: the first reply of a replayed op id, to return
-- at once, or nil.
--   local stop = tool_begin(K) if stop then return stop end
local function tool_begin(keys)
  return op_replay(keys.ops, keys.ops_prev, ARGV[1])
end

-- Remember ``reply`` under the write's op id (ARGV[1]) and return it: `return tool_done(K, reply)`.
local function tool_done(keys, reply)
  op_remember(keys.ops, keys.ops_prev, ARGV[1], reply)
  return reply
end
