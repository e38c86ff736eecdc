-- lgthread/keep_latest: prune: keep only the newest checkpoint of each namespace (and its writes).
-- KEYS[1] thread meta hash (v)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] lease hash
-- KEYS[5] checkpoints hash ('c'/'m'/'p'/'b'/'r' + <ns>'\0'<id>)
-- KEYS[6] order zset (<ns>'\0'<id>)
-- KEYS[7] ids zset (<id>'\0'<ns>)
-- KEYS[8] blobs hash
-- KEYS[9] blob refcounts hash
-- KEYS[10] writes hash
-- KEYS[11] writes zset
-- KEYS[12] runs zset (<run id>'\0'<ns>'\0'<id>)
-- KEYS[13] index hash (what the cross-thread indexes know)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] thread id (for errors and events)
-- ARGV[4] fencing token ('' = none; refused while another holder's lease is live)
-- Reply: how many checkpoints were deleted (string)
-- Mode: write
-- Memory: allowed; deletes older checkpoints; frees memory
-- Retry: safe; a replayed op id returns the first reply; pruning a pruned thread deletes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token, now, stop = lgthread_begin()
if stop then return stop end
local members = redis.call('ZRANGEBYLEX', K.order, '-', '+')
local keep, n = {}, 0
for i = 1, #members do
  local ns = lgthread_parse_nsid(members[i])
  local nxt = members[i + 1]
  if nxt and lgthread_parse_nsid(nxt) == ns then
    n = n + lgthread_drop(members[i])
  else
    keep[members[i]] = true
  end
end
-- writes stored for checkpoints that were never put (or are gone) go too
local fields = redis.call('ZRANGEBYLEX', K.wx, '-', '+')
for i = 1, #fields do
  local ns_end = string.find(fields[i], '\0', 1, true)
  local id_end = string.find(fields[i], '\0', ns_end + 1, true)
  if not keep[string.sub(fields[i], 1, id_end - 1)] then
    redis.call('HDEL', K.writes, fields[i])
    redis.call('ZREM', K.wx, fields[i])
  end
end
if redis.call('EXISTS', K.meta) == 0 then return tostring(n) end
return lgthread_finish(op_id, channel, thread_id, 'prune', tostring(n), {deleted = n})
