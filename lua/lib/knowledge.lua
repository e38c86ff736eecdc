-- Knowledge-base helpers, pasted in by `--@include lib/knowledge.lua` (it includes lib/core.lua).
-- Every knowledge script takes the same 6 KEYS, all under the hash tag {kb:<id>}
-- (agentstate_redis/knowledge/manager.py, KnowledgeStateManager.layout):
--   1 knowledge base hash (version '#v', runs, updated_at)   2 ops hash   3 ops of the previous generation
--   4 indexing progress hash   5 set of source ids
--   6 source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
--@include lib/core.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], progress = KEYS[4], sources = KEYS[5],
  source_prefix = KEYS[6]}

-- The end of every progress write: the knowledge base's version and updated_at, the event with the
-- progress before (``old``) and after, the op id remembered. Returns the reply, JSON
-- {now = server ms, version = kb version, progress = [field, value, ...]}.
local function kb_progress_done(op, old, now)
  local version = redis.call('HINCRBY', K.base, '#v', 1)
  redis.call('HSET', K.base, 'updated_at', now)
  local new = redis.call('HGETALL', K.progress)
  publish(ARGV[2], {key = ARGV[3], op = op, version = version, old = old, new = new})
  local reply = cjson.encode({now = tostring(now), version = version, progress = new})
  op_remember(K.ops, K.ops_prev, ARGV[1], reply)
  return reply
end
