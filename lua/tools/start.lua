-- tools/start: record the start of a tool execution, counted once per execution id.
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel of the tool ('' = no event)
-- ARGV[3] tool name
-- ARGV[4] execution id
-- ARGV[5] status ('pending' or 'running')
-- ARGV[6] document (opaque JSON text: parameters, metadata, started_at, agent_id)
-- ARGV[7] history cap (executions kept per tool)
-- Reply: cjson array {'1' new / '0' already started, field, value, ...} of the execution hash
-- Mode: write
-- Memory: guarded; records an execution
-- Retry: safe; starting an execution id that exists changes nothing, and a replayed op id returns the first reply.

--@include lib/tools.lua

local channel, tool, exec_id, status, doc, cap = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local exec, history, stats = K.exec_prefix .. exec_id, K.history, K.stats

local stop = tool_begin(K)
if stop then return stop end

local reply
if redis.call('EXISTS', exec) == 1 then
  reply = redis.call('HGETALL', exec)
  table.insert(reply, 1, '0')
else
  local now = now_ms()
  local seq = redis.call('HINCRBY', stats, 'seq', 1)
  redis.call('HINCRBY', stats, 'started', 1)
  redis.call('HSET', stats, 'last', now)
  redis.call('HSET', exec, 'tool', tool, 'id', exec_id, 'status', status, 'doc', doc, 't0', now, 'seq', seq)
  redis.call('ZADD', history, seq, exec_id)
  local excess = redis.call('ZCARD', history) - cap
  if excess > 0 then
    for _, old in ipairs(redis.call('ZRANGE', history, 0, excess - 1)) do
      redis.call('DEL', K.exec_prefix .. old)
    end
    redis.call('ZREMRANGEBYRANK', history, 0, excess - 1)
  end
  publish(channel, {key = tool, op = 'start', version = seq, execution_id = exec_id, status = status})
  reply = redis.call('HGETALL', exec)
  table.insert(reply, 1, '1')
end

return tool_done(K, cjson.encode(reply))
