-- tools/link: remember which tool an execution id belongs to (execution id -> tool name, with a TTL).
-- KEYS[1] link key (the execution's tool name; its own entity, kind 'toolexec')
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- ARGV[1] op id ('': writing the same link again is harmless, nothing to de-duplicate)
-- ARGV[2] event channel ('': links publish nothing)
-- ARGV[3] execution id (for errors)
-- ARGV[4] tool name
-- ARGV[5] ttl in ms
-- Reply: '1'
-- Mode: write
-- Memory: guarded; stores an execution's tool
-- Retry: safe; writing the same tool name again only refreshes the TTL.

--@include lib/tool_links.lua

local current = redis.call('GET', K.base)
if current and current ~= ARGV[4] then
  return fail('EXISTS', {kind = 'tool execution', id = ARGV[3], tool = current})
end
redis.call('SET', K.base, ARGV[4], 'PX', tonumber(ARGV[5]))
return '1'
