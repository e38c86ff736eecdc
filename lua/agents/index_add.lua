-- agents/index_add: list an agent in the cross-agent checkpoint index (its own hash tag, {idx:checkpoints}).
-- KEYS[1] index zset (member agent id, score 0: paged in id order by lex range)
-- KEYS[2] index versions hash (agent id -> the incarnation listed, or the one dropped)
-- ARGV[1] agent id
-- ARGV[2] the agent's incarnation (from its first checkpoint's save)
-- Reply: '1' if the agent was listed now, '0' if the index knew this or a newer incarnation
-- Mode: write
-- Memory: guarded; adds one index entry per agent
-- Retry: safe; keyed by incarnation: a replay, or an add older than a drop, changes nothing.
-- Publishes nothing: the agent's own script already published the save.

local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur and tonumber(cur) >= tonumber(ARGV[2]) then return '0' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return '1'
