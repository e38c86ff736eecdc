-- state/get: read a state key with its version and remaining time to live.
-- KEYS[1] data hash
-- Reply: {ttl ms (-1 none, -2 missing), field, value, ...} including the '#v' version field
-- Mode: read
-- Retry: safe; reads nothing but KEYS[1] and writes nothing.

local reply = redis.call('HGETALL', KEYS[1])
table.insert(reply, 1, redis.call('PTTL', KEYS[1]))
return reply
