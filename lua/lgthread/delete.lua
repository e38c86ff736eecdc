-- lgthread/delete: delete the thread: every checkpoint, blob, write, lease and op id of it.
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
-- Reply: the run ids whose indexes list the thread, '\1'-joined ('' = none)
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; deleting what is gone deletes nothing (the op-id memory goes too: a replay
--   deletes again, which is the same).

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token, now, stop = lgthread_begin()
if stop then return stop end
local runs = {}
local fields = redis.call('HKEYS', K.ix)
for i = 1, #fields do
  if string.sub(fields[i], 1, 1) == 'r' then runs[#runs + 1] = string.sub(fields[i], 2) end
end
local version = tonumber(redis.call('HGET', K.meta, 'v') or '0') + 1
redis.call('DEL', K.meta, K.ops, K.ops_prev, K.lease, K.ck, K.order, K.ids, K.blobs, K.refs, K.writes,
  K.wx, K.runs, K.ix)
publish(channel, {key = thread_id, op = 'delete', version = version})
return table.concat(runs, '\1')
