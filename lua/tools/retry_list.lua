-- tools/retry_list: a page of the scheduled retries (due or not), earliest due first, without claiming them.
-- KEYS[1] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[2] retry hash key prefix (same index hash tag)
-- ARGV[1] limit
-- ARGV[2] '1' = only those already due by the server clock
-- ARGV[3] offset: how many of them to skip (a page's start); reads O(log N + limit), plus the offset when ARGV[2] is '1'
-- Reply: array of {execution id, due ms, document}
-- Mode: read
-- Retry: safe; reads only and writes nothing.

--@include lib/core.lua

local limit, offset = tonumber(ARGV[1]), tonumber(ARGV[3])
local due
if ARGV[2] == '1' then
  due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'WITHSCORES', 'LIMIT', offset, limit)
else
  due = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1, 'WITHSCORES')
end
local out = {}
for i = 1, #due, 2 do
  out[#out + 1] = {due[i], due[i + 1], redis.call('HGET', KEYS[2] .. due[i], 'doc') or '{}'}
end
return out
