-- lgthread/get: one checkpoint (by id, or the newest of a namespace) with its blobs and pending writes.
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
-- ARGV[1] checkpoint namespace
-- ARGV[2] checkpoint id ('' = the newest in the namespace)
-- Reply: {} if there is none, else <ns>'\0'<id>, checkpoint, metadata, parent id, n blobs,
--   (blob field, payload) x n, n writes, (write field, value) x n
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local ns, id = ARGV[1], ARGV[2]
local nsid
if id == '' then
  local top = redis.call('ZREVRANGEBYLEX', K.order, '(' .. ns .. '\1', '[' .. ns .. '\0', 'LIMIT', 0, 1)
  if #top == 0 then return {} end
  nsid = top[1]
else
  nsid = ns .. '\0' .. id
end
local out = {}
lgthread_tuple(out, nsid)
return out
