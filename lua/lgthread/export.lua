-- lgthread/export: everything stored for the thread, as stored (the source of copy_thread).
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
-- Reply: {checkpoints hash as HGETALL, blobs hash as HGETALL, writes hash as HGETALL}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

return {redis.call('HGETALL', K.ck), redis.call('HGETALL', K.blobs), redis.call('HGETALL', K.writes)}
