-- lgindex/add: list a LangGraph thread in a cross-thread index (the thread registry, or one run's
-- threads) until a deadline; the index has its own hash tag and is updated by this call alone.
-- KEYS[1] index zset (member thread id, score the deadline in ms; 9007199254740991 = no TTL)
-- ARGV[1] thread id
-- ARGV[2] deadline (ms, server clock)
-- Reply: '1'
-- Mode: write
-- Memory: guarded; adds index entries
-- Retry: safe; ZADD GT keeps the later deadline, so a replay or a late call changes nothing.
-- Bounded: members whose deadline has passed (their thread's keys expired) are dropped here, and
-- the index key itself expires with its last member.

--@include lib/core.lua

local NEVER = 9007199254740991
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if tonumber(top[2]) >= NEVER then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIREAT', KEYS[1], top[2])
end
return '1'
