-- lgthread/tuples: whole checkpoints by namespace and id (the matches of a filtered listing).
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
-- ARGV[1..] <ns>'\0'<id> of each checkpoint wanted
-- Reply: the tuples that still exist, each as lgthread/get replies it, one after the other
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local out = {}
for i = 1, #ARGV do lgthread_tuple(out, ARGV[i]) end
return out
