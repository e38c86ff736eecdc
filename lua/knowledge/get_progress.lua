-- knowledge/get_progress: the indexing progress of a knowledge base with the server's clock.
-- KEYS[1] knowledge base hash
-- KEYS[2] indexing progress hash
-- Reply: {server ms, kb version, field, value, ...} (no fields when there is no run)
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua

local reply = redis.call('HGETALL', KEYS[2])
table.insert(reply, 1, tostring(redis.call('HGET', KEYS[1], '#v') or '0'))
table.insert(reply, 1, tostring(now_ms()))
return reply
