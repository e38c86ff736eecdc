-- lgthread/import: add another thread's checkpoints, blobs and writes (the target of copy_thread).
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
-- ARGV[5] ttl in ms for every key of the thread (0 = none)
-- ARGV[6] lease time in ms a passing fencing token extends the lease by (0 = do not extend)
-- ARGV[7] n, the number of checkpoints
-- ARGV[8..] n x (<ns>'\0'<id>, checkpoint, metadata, parent id, blob refs, run id), then
--   m, then m x (blob field, payload), then (write field, value) pairs to the end
-- Reply: what the cross-thread indexes must be told ('' = nothing)
-- Mode: write
-- Memory: guarded; copies a thread into this one
-- Retry: safe; a replayed op id returns the first reply; a checkpoint, blob or write the thread
--   already has is kept, so importing twice imports once.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token, now, stop = lgthread_begin(tonumber(ARGV[6]))
if stop then return stop end
local ttl_ms = tonumber(ARGV[5])

local n, at, runs = tonumber(ARGV[7]), 8, {}
for _ = 1, n do
  local nsid = ARGV[at]
  if redis.call('HEXISTS', K.ck, 'c' .. nsid) == 0 then
    lgthread_store(nsid, ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5])
    runs[#runs + 1] = ARGV[at + 5]
  end
  at = at + 6
end
local m = tonumber(ARGV[at])
at = at + 1
for _ = 1, m do
  redis.call('HSETNX', K.blobs, ARGV[at], ARGV[at + 1])
  at = at + 2
end
for i = at, #ARGV, 2 do
  if redis.call('HSETNX', K.writes, ARGV[i], ARGV[i + 1]) == 1 then redis.call('ZADD', K.wx, 0, ARGV[i]) end
end
if n == 0 and at > #ARGV then return '' end
lgthread_expire(ttl_ms)
local reply = lgthread_index_needs(ttl_ms, now, runs)
return lgthread_finish(op_id, channel, thread_id, 'copy', reply, {imported = n})
