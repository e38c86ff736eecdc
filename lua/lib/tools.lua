-- Tool records and cache, pasted in by `--@include lib/tools.lua` (it includes lib/tool_ops.lua).
-- Every script on one tool takes the same 8 KEYS, all under the hash tag {tool:<name>}
-- (agentstate_redis/tools/layouts.py, TOOL):
--   1 the tool's base key (nothing is stored there)   2 ops hash   3 ops of the previous generation
--   4 stats hash   5 execution history (sorted set of execution ids, score = start sequence)
--   6 execution hash key prefix (an execution's hash is this prefix followed by its id)
--   7 cache entry key prefix (an entry's hash is this prefix followed by its escaped parameters
--     hash; its events are of kind 'toolcache', id '<tool>:<hash>')
--   8 compute lock key prefix (an entry's lock is this prefix followed by the same)
-- Writes take ARGV op id, the tool's event channel, the tool name, then their own.
--@include lib/tool_ops.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], stats = KEYS[4], history = KEYS[5],
  exec_prefix = KEYS[6], cache_prefix = KEYS[7], lock_prefix = KEYS[8]}
