-- tools/retry_count: how many retries are scheduled, and how many of those are due by the server clock.
-- KEYS[1] base key of the retry index (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[5] retry hash key prefix (same index hash tag)
-- Reply: {scheduled, due}
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

--@include lib/tool_retries.lua

return {redis.call('ZCARD', K.due), redis.call('ZCOUNT', K.due, '-inf', now_ms())}
