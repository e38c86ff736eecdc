-- lgthread/lease_release: give the thread's writer lease up (ARGV[4] is the token).
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
-- Reply: '1'; LEASE if the token is stale
-- Mode: write
-- Memory: allowed; gives the lease up
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local replay = op_replay(K.ops, K.ops_prev, op_id)
if replay then return replay end
local now = now_ms()
local err = lease_release(K.lease, token, now)
if err then return fail('LEASE', lgthread_lease_details(thread_id, err)) end
return lgthread_finish(op_id, channel, thread_id, 'release', '1', {token = tonumber(token)})
