-- tools/retry_list: scheduled retries (due or not), earliest due first, without claiming them.
-- KEYS[1] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[2] retry hash key prefix (same index hash tag)
-- ARGV[1] limit
-- ARGV[2] '1' = only those already due by the server clock
-- Reply: array of {execution id, due ms, document}
-- Mode: read
-- Retry: safe; reads only and writes nothing.

--@include lib/core.lua

local max = ARGV[2] == '1' and now_ms() or '+inf'
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', max, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #due, 2 do
  out[#out + 1] = {due[i], due[i + 1], redis.call('HGET', KEYS[2] .. due[i], 'doc') or '{}'}
end
return out
