-- lgindex/drop: remove a LangGraph thread from a cross-thread index (after the thread's own delete).
-- KEYS[1] index zset
-- ARGV[1] thread id
-- Reply: '1' if it was listed, '0' if not
-- Mode: write
-- Memory: allowed; deletes index entries; frees memory
-- Retry: safe; removing what is gone removes nothing.

return tostring(redis.call('ZREM', KEYS[1], ARGV[1]))
