-- Retry schedules, pasted in by `--@include lib/tool_retries.lua` (it includes lib/tool_ops.lua).
-- Every retry script takes the same 5 KEYS, all under the one index hash tag {idx:tool-retries}
-- (agentstate_redis/tools/layouts.py, RETRIES):
--   1 the index's base key (nothing is stored there)   2 ops hash   3 ops of the previous generation
--   4 due set (sorted set of execution ids, score = due time in server ms)
--   5 retry hash key prefix (an execution's retry record is this prefix followed by its id)
-- Writes take ARGV op id, the retries' event channel (tool '_retries'), the index name
-- ('tool-retries'), then their own.
--@include lib/tool_ops.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], due = KEYS[4], retry_prefix = KEYS[5]}
