-- lgthread/index_confirm: record what the cross-thread indexes were told (after lgindex/add).
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
-- ARGV[5] deadline the indexes were given (ms; LGTHREAD_NEVER = no TTL)
-- ARGV[6..] index hash fields ('t', 'r'<run id>) that were told it
-- Reply: '1' if recorded, '0' if the thread is gone (nothing is re-created)
-- Mode: write
-- Memory: allowed; marks index entries already written as recorded (a flag field)
-- Retry: safe; a field keeps the larger deadline, so a replay or a late call changes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local replay = op_replay(K.ops, K.ops_prev, op_id)
if replay then return replay end
local now = now_ms()
local pttl = redis.call('PTTL', K.meta)
if pttl == -2 then return '0' end
local deadline = tonumber(ARGV[5])
for i = 6, #ARGV do
  if tonumber(redis.call('HGET', K.ix, ARGV[i]) or '-1') < deadline then
    redis.call('HSET', K.ix, ARGV[i], ARGV[5])
  end
end
if pttl > 0 then redis.call('PEXPIRE', K.ix, pttl) end
op_remember(K.ops, K.ops_prev, op_id, '1')
return '1'
