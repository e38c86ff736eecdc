-- tools/finish: complete or fail a running tool execution and count it in the tool's stats.
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
-- ARGV[5] outcome ('completed' or 'failed')
-- ARGV[6] result (opaque JSON text; '' = none)
-- ARGV[7] error message ('' = none)
-- ARGV[8] duration in microseconds ('' = measure from the start with the server clock)
-- Reply: cjson array {field, value, ...} of the finished execution hash
-- Mode: write
-- Memory: allowed; finishing a running execution; its record exists already
-- Retry: safe; a replayed op id returns the first reply, and a finished execution refuses a second finish.

--@include lib/tools.lua

local channel, tool, exec_id, outcome, result, err, dur =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local exec, stats = K.exec_prefix .. exec_id, K.stats

local stop = tool_begin(K)
if stop then return stop end

local status = redis.call('HGET', exec, 'status')
if not status then
  return fail('NOT_FOUND', {kind = 'tool execution', id = exec_id, tool = tool})
end
local verb = outcome == 'completed' and 'complete' or 'fail'
if status ~= 'running' and status ~= 'pending' then
  return fail('TRANSITION', {kind = 'tool execution', id = exec_id, status = status, op = verb})
end

local now = now_ms()
local dur_us
if dur == '' then
  dur_us = math.max(0, now - tonumber(redis.call('HGET', exec, 't0'))) * 1000
else
  dur_us = tonumber(dur)
end

redis.call('HSET', exec, 'status', outcome, 't1', now, 'dur_us', dur_us)
if result ~= '' then redis.call('HSET', exec, 'result', result) end
if err ~= '' then redis.call('HSET', exec, 'error', err) end
redis.call('HINCRBY', stats, outcome, 1)
redis.call('HINCRBY', stats, 'dur_us', dur_us)

local version = tonumber(redis.call('HGET', exec, 'seq'))
publish(channel, {key = tool, op = verb, version = version, execution_id = exec_id, status = outcome})
return tool_done(K, cjson.encode(redis.call('HGETALL', exec)))
