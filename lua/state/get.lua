-- state/get: read a state key with its version and remaining time to live.
-- KEYS[1] data hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] tombstone of a deleted key
-- Reply: {ttl ms (-1 none, -2 missing), field, value, ...} including the '#v' version field
-- Mode: read
-- Retry: safe; reads nothing but KEYS[1] and writes nothing.
-- The state layout's KEYS (lib/state.lua); this hot read needs only the first, so it pastes no
-- library (a library's functions are built anew on every call: about 1 µs of server time).

local reply = redis.call('HGETALL', KEYS[1])
table.insert(reply, 1, redis.call('PTTL', KEYS[1]))
return reply
