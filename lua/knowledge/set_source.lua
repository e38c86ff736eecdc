-- knowledge/set_source: replace the state of one source of a knowledge base.
-- KEYS[1] knowledge base hash (version '#v', runs, updated_at)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] indexing progress hash
-- KEYS[5] set of source ids
-- KEYS[6] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] knowledge base id (for errors and events)
-- ARGV[4] source id (its hash is KEYS[6] followed by it)
-- ARGV[5..] field, value, ... (counters as integers, user values as JSON text)
-- Reply: JSON {now = server ms, version = kb version, source = [field, value, ...]}
-- Mode: write
-- Memory: guarded; stores a source's state
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/knowledge.lua

local kb, sources, ops, ops_prev = K.base, K.sources, K.ops, K.ops_prev
local op_id, channel, kb_id, source_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local src = K.source_prefix .. source_id

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local now = now_ms()
local old = redis.call('HGETALL', src)
local source_version = tonumber(redis.call('HGET', src, '#v') or '0') + 1
redis.call('DEL', src)
redis.call('HSET', src, '#v', source_version, 'updated_at', now)
for i = 5, #ARGV, 2 do
  redis.call('HSET', src, ARGV[i], ARGV[i + 1])
end
redis.call('SADD', sources, source_id)
local version = redis.call('HINCRBY', kb, '#v', 1)
redis.call('HSET', kb, 'updated_at', now)

local new = redis.call('HGETALL', src)
publish(channel, {key = kb_id, op = 'update_source', version = version, source_id = source_id, old = old, new = new})
local reply = cjson.encode({now = tostring(now), version = version, source = new})
op_remember(ops, ops_prev, op_id, reply)
return reply
