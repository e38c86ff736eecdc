-- workflows/index_set: file a workflow under its status in the listing index (its own hash tag).
-- KEYS[1] index zset (members '<status>:<workflow id>', score 0, paged by lex range)
-- KEYS[2] index versions hash (workflow id -> '<version>|<status>')
-- ARGV[1] workflow id
-- ARGV[2] status
-- ARGV[3] the workflow's version that had this status
-- Reply: '1' if the index changed, '0' if it already knew this or a newer version
-- Mode: write
-- Memory: allowed; moves an existing workflow between status sets
-- Retry: safe; keyed by the workflow's version: an older or equal version is ignored, so
-- replays and out-of-order calls from racing processes converge on the newest status.
-- Publishes nothing: the workflow's own script already published the change.

local idx, ver = KEYS[1], KEYS[2]
local id, status, version = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cur = redis.call('HGET', ver, id)
if cur then
  local v, s = string.match(cur, '^(%d+)|(.*)$')
  if tonumber(v) >= version then return '0' end
  redis.call('ZREM', idx, s .. ':' .. id)
end
redis.call('HSET', ver, id, version .. '|' .. status)
redis.call('ZADD', idx, 0, status .. ':' .. id)
return '1'
