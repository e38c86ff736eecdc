-- agents/index_add: list an agent in the cross-agent checkpoint index (its own hash tag, {idx:checkpoints}).
-- KEYS[1] index zset (member agent id, score 0: paged in id order by lex range)
-- ARGV[1] agent id
-- Reply: '1' if the agent was added, '0' if it was listed already
-- Mode: write
-- Memory: guarded; adds one index entry per agent
-- Retry: safe; ZADD NX: a replay or a repeat changes nothing.
-- Publishes nothing: the agent's own script already published the save.

return tostring(redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[1]))
