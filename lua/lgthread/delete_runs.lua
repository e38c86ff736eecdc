-- lgthread/delete_runs: delete the thread's checkpoints (and their writes) made by the given runs.
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
-- ARGV[5..] run ids
-- Reply: how many checkpoints were deleted (string)
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; a replayed op id returns the first reply; deleting what is gone deletes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token, now, stop = lgthread_begin()
if stop then return stop end
local n = 0
for i = 5, #ARGV do
  local run = ARGV[i]
  local lo, hi = '[' .. run .. '\0', '(' .. run .. '\1'
  local members = redis.call('ZRANGEBYLEX', K.runs, lo, hi)
  for j = 1, #members do n = n + lgthread_drop(string.sub(members[j], #run + 2)) end
  redis.call('ZREMRANGEBYLEX', K.runs, lo, hi)
  redis.call('HDEL', K.ix, 'r' .. run)
end
if redis.call('EXISTS', K.meta) == 0 then return tostring(n) end
return lgthread_finish(op_id, channel, thread_id, 'delete_runs', tostring(n), {deleted = n})
