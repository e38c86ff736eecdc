-- lgthread/list: one page of checkpoints, newest first, from the thread's order or ids index.
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
-- ARGV[1] 'order' (one namespace: members <ns>'\0'<id>) or 'ids' (every namespace: <id>'\0'<ns>)
-- ARGV[2] lowest member (a ZRANGEBYLEX bound: '[x', '(x' or '-')
-- ARGV[3] highest member (likewise, or '+'); the page starts there and goes down
-- ARGV[4] page size (>= 1)
-- ARGV[5] '1' for whole tuples, '0' for (nsid, metadata) pairs only
-- Reply: {last member scanned ('' if none), then per checkpoint: the tuple as lgthread/get replies
--   it (ARGV[5] '1') or <ns>'\0'<id>, metadata (ARGV[5] '0')}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/lgthread.lua

local by_id = ARGV[1] == 'ids'
local members = redis.call('ZREVRANGEBYLEX', by_id and K.ids or K.order, ARGV[3], ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {members[#members] or ''}
for i = 1, #members do
  local nsid = members[i]
  if by_id then
    local id, ns = lgthread_parse_nsid(nsid)
    nsid = ns .. '\0' .. id
  end
  if ARGV[5] == '1' then
    lgthread_tuple(out, nsid)
  else
    local md = redis.call('HGET', K.ck, 'm' .. nsid)
    if md then
      out[#out + 1] = nsid
      out[#out + 1] = md
    end
  end
end
return out
