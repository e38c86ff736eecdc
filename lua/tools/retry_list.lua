-- tools/retry_list: a page of the scheduled retries (due or not), earliest due first, without claiming them.
-- KEYS[1] base key of the retry index (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[5] retry hash key prefix (same index hash tag)
-- ARGV[1] limit
-- ARGV[2] '1' = only those already due by the server clock
-- ARGV[3] offset: how many of them to skip (a page's start); reads O(log N + limit), plus the offset when ARGV[2] is '1'
-- Reply: array of {execution id, due ms, document}
-- Mode: read
-- Retry: safe; reads only and writes nothing.

--@include lib/tool_retries.lua

local limit, offset = tonumber(ARGV[1]), tonumber(ARGV[3])
local due
if ARGV[2] == '1' then
  due = redis.call('ZRANGEBYSCORE', K.due, '-inf', now_ms(), 'WITHSCORES', 'LIMIT', offset, limit)
else
  due = redis.call('ZRANGE', K.due, offset, offset + limit - 1, 'WITHSCORES')
end
local out = {}
for i = 1, #due, 2 do
  out[#out + 1] = {due[i], due[i + 1], redis.call('HGET', K.retry_prefix .. due[i], 'doc') or '{}'}
end
return out
