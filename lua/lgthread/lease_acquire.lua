-- lgthread/lease_acquire: take (or renew, for the same owner) the thread's writer lease.
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
-- ARGV[5] owner id
-- ARGV[6] lease time in ms
-- ARGV[7] ttl in ms for every key of the thread (0 = none)
-- Reply: the fencing token (string); LEASE if someone else holds a live lease
-- Mode: write
-- Memory: guarded; a new lease
-- Retry: safe; a replayed op id returns the first token; the same owner re-acquiring gets the same token.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local op_id, channel, thread_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local replay = op_replay(K.ops, K.ops_prev, op_id)
if replay then return replay end
local now = now_ms()
local tok, err = lease_acquire(K.lease, ARGV[5], tonumber(ARGV[6]), now)
if not tok then return fail('LEASE', lgthread_lease_details(thread_id, err)) end
lgthread_expire(tonumber(ARGV[7]))
return lgthread_finish(op_id, channel, thread_id, 'lease', tostring(tok), {owner = ARGV[5], token = tok})
