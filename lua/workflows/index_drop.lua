-- workflows/index_drop: forget a workflow that no longer exists from the listing index.
-- KEYS[1] index zset (members '<status>:<workflow id>')
-- KEYS[2] index versions hash (workflow id -> '<version>|<status>')
-- ARGV[1] workflow id
-- ARGV[2] the status it was listed under
-- Reply: '1' if the index changed, '0' if it no longer filed the workflow under that status
-- Mode: write
-- Memory: allowed; deletes an index entry
-- Retry: safe; dropping twice drops once (the second call finds nothing to remove).
-- The caller checked that the workflow's base hash is gone (it lives under another hash tag, so
-- this script cannot). The versions entry goes only if it still names the listed status: a
-- workflow re-created and filed under another status meanwhile keeps its entry.
-- Publishes nothing: the index is not an entity.

local idx, ver = KEYS[1], KEYS[2]
local id, status = ARGV[1], ARGV[2]
local changed = redis.call('ZREM', idx, status .. ':' .. id)
local cur = redis.call('HGET', ver, id)
if cur and string.match(cur, '^%d+|(.*)$') == status then
  redis.call('HDEL', ver, id)
  changed = 1
end
return tostring(changed)
