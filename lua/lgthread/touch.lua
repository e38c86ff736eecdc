-- lgthread/touch: restart the TTL of every key of the thread (refresh_on_read).
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
-- ARGV[5] ttl in ms (> 0)
-- Reply: what the cross-thread indexes must be told ('' = nothing); '' also if the thread is gone
-- Mode: write
-- Memory: allowed; only refreshes expiry times
-- Retry: safe; restarting a TTL twice is restarting it once. Takes no lease: reading is not writing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local replay = op_replay(K.ops, K.ops_prev, op_id)
if replay then return replay end
local now = now_ms()
if redis.call('EXISTS', K.meta) == 0 then return '' end
local ttl_ms = tonumber(ARGV[5])
lgthread_expire(ttl_ms)
local reply = lgthread_index_needs(ttl_ms, now, {})
op_remember(K.ops, K.ops_prev, op_id, reply)
return reply
