-- tools/retry_count: how many retries are scheduled, and how many of those are due by the server clock.
-- KEYS[1] due set (sorted set of execution ids, score = due time in server ms)
-- Reply: {scheduled, due}
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

--@include lib/core.lua

return {redis.call('ZCARD', KEYS[1]), redis.call('ZCOUNT', KEYS[1], '-inf', now_ms())}
