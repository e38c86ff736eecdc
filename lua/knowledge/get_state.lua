-- knowledge/get_state: one consistent view of a knowledge base: its hash, indexing run and every source.
-- KEYS[1] knowledge base hash
-- KEYS[2] indexing progress hash
-- KEYS[3] set of source ids
-- KEYS[4] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- Reply: {server ms, [kb field, value, ...], [progress field, value, ...], source id, [field, value, ...], ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua

local reply = {tostring(now_ms()), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
local ids = redis.call('SMEMBERS', KEYS[3])
table.sort(ids)
for _, id in ipairs(ids) do
  table.insert(reply, id)
  table.insert(reply, redis.call('HGETALL', KEYS[4] .. id))
end
return reply
