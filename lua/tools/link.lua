-- tools/link: remember which tool an execution id belongs to (execution id -> tool name, with a TTL).
-- KEYS[1] link key (its own entity, kind 'toolexec')
-- ARGV[1] execution id (for errors)
-- ARGV[2] tool name
-- ARGV[3] ttl in ms
-- Reply: '1'
-- Mode: write
-- Memory: guarded; stores an execution's tool
-- Retry: safe; writing the same tool name again only refreshes the TTL.

--@include lib/core.lua

local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[2] then
  return fail('EXISTS', {kind = 'tool execution', id = ARGV[1], tool = current})
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3]))
return '1'
