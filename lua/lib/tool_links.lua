-- Execution links (execution id -> tool name), pasted in by `--@include lib/tool_links.lua` (it
-- includes lib/tool_ops.lua). Every link script takes the same 3 KEYS, under the hash tag
-- {toolexec:<execution id>} (agentstate_redis/tools/layouts.py, LINKS):
--   1 the link (a string: the tool name, with a TTL)   2 ops hash   3 ops of the previous generation
-- Writes take ARGV op id, channel ('': links publish nothing), execution id, then their own.
--@include lib/tool_ops.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3]}
