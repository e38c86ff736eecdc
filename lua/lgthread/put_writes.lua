-- lgthread/put_writes: store a task's pending writes on a checkpoint.
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
-- ARGV[5] checkpoint namespace
-- ARGV[6] checkpoint id
-- ARGV[7] task id
-- ARGV[8] task path
-- ARGV[9] ttl in ms for every key of the thread (0 = none)
-- ARGV[10] lease time in ms a passing fencing token extends the lease by (0 = do not extend)
-- ARGV[11..] idx, channel, payload, ... (idx < 0 for the special channels of WRITES_IDX_MAP)
-- Reply: what the cross-thread indexes must be told ('' = nothing)
-- Mode: write
-- Memory: guarded; stores pending writes
-- Retry: safe; a replayed op id returns the first reply; a regular write (idx >= 0) already
--   stored for (task id, idx) is kept, a special one (idx < 0) is replaced, as LangGraph's savers do.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token, now, stop = lgthread_begin(tonumber(ARGV[10]))
if stop then return stop end
local ttl_ms = tonumber(ARGV[9])
local ns, id, task, path = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

local prefix = ns .. '\0' .. id .. '\0' .. task .. '\0'
for i = 11, #ARGV, 3 do
  local field = prefix .. ARGV[i]
  if tonumber(ARGV[i]) < 0 or redis.call('HEXISTS', K.writes, field) == 0 then
    redis.call('HSET', K.writes, field, path .. '\0' .. ARGV[i + 1] .. '\0' .. ARGV[i + 2])
    redis.call('ZADD', K.wx, 0, field)
  end
end
lgthread_expire(ttl_ms)
local reply = lgthread_index_needs(ttl_ms, now, {})
return lgthread_finish(op_id, channel, thread_id, 'writes', reply, {ns = ns, checkpoint_id = id, task_id = task})
