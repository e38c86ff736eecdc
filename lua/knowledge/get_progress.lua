-- knowledge/get_progress: the indexing progress of a knowledge base with the server's clock.
-- KEYS[1] knowledge base hash (version '#v', runs, updated_at)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] indexing progress hash
-- KEYS[5] set of source ids
-- KEYS[6] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- Reply: {server ms, kb version, field, value, ...} (no fields when there is no run)
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/knowledge.lua

local reply = redis.call('HGETALL', K.progress)
table.insert(reply, 1, tostring(redis.call('HGET', K.base, '#v') or '0'))
table.insert(reply, 1, tostring(now_ms()))
return reply
