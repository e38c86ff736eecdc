-- lgthread/put: store one checkpoint with its new channel blobs.
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
-- ARGV[7] parent checkpoint id ('' = none)
-- ARGV[8] run id ('' = none; listed in the runs zset for delete_runs)
-- ARGV[9] checkpoint payload (without channel values; opaque)
-- ARGV[10] metadata payload (opaque)
-- ARGV[11] blob refs: every <ns>'\0'<channel>'\0'<version> the checkpoint reads, '\1'-joined
-- ARGV[12] ttl in ms for every key of the thread (0 = none)
-- ARGV[13] lease time in ms a passing fencing token extends the lease by (0 = do not extend)
-- ARGV[14..] blob field, blob payload, ... (the channels of new_versions)
-- Reply: what the cross-thread indexes must be told ('' = nothing; see lgthread_index_needs)
-- Mode: write
-- Memory: guarded; stores a checkpoint and its blobs
-- Retry: safe; a replayed op id returns the first reply and writes nothing; putting the same
--   checkpoint again replaces it (its blob references are counted once).

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token, now, stop = lgthread_begin(tonumber(ARGV[13]))
if stop then return stop end
local ttl_ms = tonumber(ARGV[12])
local ns, id, parent, run = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

for i = 14, #ARGV, 2 do redis.call('HSET', K.blobs, ARGV[i], ARGV[i + 1]) end
lgthread_store(ns .. '\0' .. id, ARGV[9], ARGV[10], parent, ARGV[11], run)
lgthread_expire(ttl_ms)
local reply = lgthread_index_needs(ttl_ms, now, {run})
return lgthread_finish(op_id, channel, thread_id, 'put', reply, {ns = ns, checkpoint_id = id})
