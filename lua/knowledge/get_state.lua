-- knowledge/get_state: one consistent view of a knowledge base: its hash, indexing run and every source.
-- KEYS[1] knowledge base hash (version '#v', runs, updated_at)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] indexing progress hash
-- KEYS[5] set of source ids
-- KEYS[6] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- Reply: {server ms, [kb field, value, ...], [progress field, value, ...], source id, [field, value, ...], ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/knowledge.lua

local reply = {tostring(now_ms()), redis.call('HGETALL', K.base), redis.call('HGETALL', K.progress)}
local ids = redis.call('SMEMBERS', K.sources)
table.sort(ids)
for _, id in ipairs(ids) do
  table.insert(reply, id)
  table.insert(reply, redis.call('HGETALL', K.source_prefix .. id))
end
return reply
