-- LangGraph thread helpers, pasted in by `--@include lib/lgthread.lua` (it includes lib/core.lua and lib/lease.lua).
-- Every lgthread script takes the same 13 KEYS, all under the hash tag {lgthread:<thread id>}
-- (declared once in Python: agentstate_redis/langgraph/store.py SUBKEYS):
--   1 meta hash (v = version)   2 ops hash   3 ops of the previous generation   4 lease hash
--   5 checkpoints hash: 'c'<nsid> checkpoint, 'm'<nsid> metadata (serialized payloads, opaque),
--     'p'<nsid> parent id, 'b'<nsid> blob refs ('\1'-joined), 'r'<nsid> run id
--   6 order zset, members <nsid> = <ns>'\0'<id>, score 0 (lex: newest last within a namespace)
--   7 ids zset, members <id>'\0'<ns>, score 0 (lex: every namespace by checkpoint id)
--   8 blobs hash (<ns>'\0'<channel>'\0'<version> -> payload)   9 blob refcounts hash (same fields)
--   10 writes hash (<nsid>'\0'<task id>'\0'<idx> -> <task path>'\0'<channel>'\0'<payload>)
--   11 writes zset (the writes hash's fields, score 0: one lex range per checkpoint)
--   12 runs zset (<run id>'\0'<nsid>, score 0)
--   13 index hash: what the cross-thread indexes know ('t' -> deadline in the thread registry,
--      'r'<run id> -> deadline in that run's index; ms, LGTHREAD_NEVER = no TTL)
-- Ids, namespaces, channels and task ids never hold control characters (the Python side checks),
-- so '\0' separates the parts of a field and '\1' the items of a list.
-- Lua never decodes a payload: they are stored and returned as the strings Python sent.
--@include lib/core.lua
--@include lib/lease.lua

local K = {
  meta = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], lease = KEYS[4],
  ck = KEYS[5], order = KEYS[6], ids = KEYS[7], blobs = KEYS[8], refs = KEYS[9],
  writes = KEYS[10], wx = KEYS[11], runs = KEYS[12], ix = KEYS[13],
}
-- The keys a TTL applies to (the op-id memory keeps its own).
local LGTHREAD_DATA = {K.meta, K.lease, K.ck, K.order, K.ids, K.blobs, K.refs, K.writes, K.wx, K.runs, K.ix}
local LGTHREAD_NEVER = 9007199254740991
local lgthread_unpack = unpack or table.unpack

-- HMGET of any number of fields (in chunks that keep unpack() under Lua's stack limit).
local function lgthread_hmget(key, fields)
  local out = {}
  for i = 1, #fields, 500 do
    local vals = redis.call('HMGET', key, lgthread_unpack(fields, i, math.min(i + 499, #fields)))
    for j = 1, #vals do out[i + j - 1] = vals[j] end
  end
  return out
end

local function lgthread_split(s, sep)
  local out = {}
  if not s or s == '' then return out end
  local pos = 1
  while true do
    local at = string.find(s, sep, pos, true)
    if not at then
      out[#out + 1] = string.sub(s, pos)
      return out
    end
    out[#out + 1] = string.sub(s, pos, at - 1)
    pos = at + 1
  end
end

-- Details of a LEASE failure, naming the thread.
local function lgthread_lease_details(thread_id, err)
  err.kind = 'lgthread'
  err.id = thread_id
  return err
end

-- Check the writer's fencing token; with lease_ms > 0 a passing token also extends its lease.
-- Returns error details or nil.
local function lgthread_check_lease(token, lease_ms, now)
  if token ~= '' and lease_ms > 0 then return lease_renew(K.lease, token, lease_ms, now) end
  return lease_check(K.lease, token, now)
end

-- The prologue of every thread write a lease guards: ARGV[1..4] (op id, channel, thread id, fencing
-- token), the op-id replay, the lease check (with `lease_ms` > 0 a passing token also extends the
-- lease by that many ms, lgthread_check_lease; nil or 0 only checks). Returns them and the server
-- time, then a reply to return at once (a replayed op id's first reply, or the LEASE failure), nil
-- to go on:
--   local op_id, channel, thread_id, token, now, stop = lgthread_begin(tonumber(ARGV[13]))
--   if stop then return stop end
local function lgthread_begin(lease_ms)
  local op_id, channel, thread_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
  local replay = op_replay(K.ops, K.ops_prev, op_id)
  if replay then return op_id, channel, thread_id, token, nil, replay end
  local now = now_ms()
  local lerr = lgthread_check_lease(token, lease_ms or 0, now)
  if lerr then return op_id, channel, thread_id, token, now, fail('LEASE', lgthread_lease_details(thread_id, lerr)) end
  return op_id, channel, thread_id, token, now, nil
end

-- Give every key of the thread the same TTL (ms); 0 leaves TTLs alone.
local function lgthread_expire(ttl_ms)
  if ttl_ms <= 0 then return end
  for i = 1, #LGTHREAD_DATA do redis.call('PEXPIRE', LGTHREAD_DATA[i], ttl_ms) end
end

-- What the cross-thread indexes must be told so they outlive the thread's keys: '' if nothing,
-- else '<deadline>\1<field>\1<field>...' with fields of the index hash ('t', 'r'<run id>). The
-- deadline given is two TTLs away, so a busy thread asks once per TTL; without a TTL it asks once.
local function lgthread_index_needs(ttl_ms, now, runs)
  local want, give = LGTHREAD_NEVER, LGTHREAD_NEVER
  if ttl_ms > 0 then want, give = now + ttl_ms, now + 2 * ttl_ms end
  local need, seen = {}, {}
  local function add(field)
    if not seen[field] then
      seen[field] = true
      need[#need + 1] = field
    end
  end
  if tonumber(redis.call('HGET', K.ix, 't') or '-1') < want then
    add('t')
    if ttl_ms > 0 then
      local all = redis.call('HGETALL', K.ix)
      for i = 1, #all, 2 do
        if tonumber(all[i + 1]) < want then add(all[i]) end
      end
    end
  end
  for i = 1, #runs do
    local field = 'r' .. runs[i]
    if runs[i] ~= '' and not seen[field] and tonumber(redis.call('HGET', K.ix, field) or '-1') < want then
      add(field)
    end
  end
  if #need == 0 then return '' end
  return string.format('%.0f', give) .. '\1' .. table.concat(need, '\1')
end

local function lgthread_bump()
  return redis.call('HINCRBY', K.meta, 'v', 1)
end

-- Publish the change event and remember the reply under the op id.
local function lgthread_finish(op_id, channel, thread_id, op, reply, extra)
  local event = extra or {}
  event.key = thread_id
  event.op = op
  event.version = lgthread_bump()
  publish(channel, event)
  op_remember(K.ops, K.ops_prev, op_id, reply)
  return reply
end

-- Drop one reference to each blob of `refs`; a blob nobody references any more goes.
local function lgthread_unref(refs)
  local list = lgthread_split(refs, '\1')
  for i = 1, #list do
    if redis.call('HINCRBY', K.refs, list[i], -1) <= 0 then
      redis.call('HDEL', K.refs, list[i])
      redis.call('HDEL', K.blobs, list[i])
    end
  end
end

local function lgthread_ref(refs)
  local list = lgthread_split(refs, '\1')
  for i = 1, #list do redis.call('HINCRBY', K.refs, list[i], 1) end
end

-- The writes stored for checkpoint <nsid>: their fields, in lex order.
local function lgthread_write_fields(nsid)
  return redis.call('ZRANGEBYLEX', K.wx, '[' .. nsid .. '\0', '(' .. nsid .. '\1')
end

local function lgthread_drop_writes(nsid)
  local fields = lgthread_write_fields(nsid)
  for i = 1, #fields do redis.call('HDEL', K.writes, fields[i]) end
  if #fields > 0 then redis.call('ZREMRANGEBYLEX', K.wx, '[' .. nsid .. '\0', '(' .. nsid .. '\1') end
  return #fields
end

-- '<ns>\0<id>' -> ns, id
local function lgthread_parse_nsid(nsid)
  local at = string.find(nsid, '\0', 1, true)
  return string.sub(nsid, 1, at - 1), string.sub(nsid, at + 1)
end

-- Delete checkpoint <nsid> with its writes; its blobs lose a reference. Returns 1 if it existed.
local function lgthread_drop(nsid)
  local cur = redis.call('HMGET', K.ck, 'c' .. nsid, 'b' .. nsid, 'r' .. nsid)
  lgthread_drop_writes(nsid)
  if not cur[1] then return 0 end
  lgthread_unref(cur[2])
  redis.call('HDEL', K.ck, 'c' .. nsid, 'm' .. nsid, 'p' .. nsid, 'b' .. nsid, 'r' .. nsid)
  local ns, id = lgthread_parse_nsid(nsid)
  redis.call('ZREM', K.order, nsid)
  redis.call('ZREM', K.ids, id .. '\0' .. ns)
  if cur[3] and cur[3] ~= '' then redis.call('ZREM', K.runs, cur[3] .. '\0' .. nsid) end
  return 1
end

-- Store one checkpoint (replacing one with the same namespace and id); its blobs gain a reference.
local function lgthread_store(nsid, checkpoint, metadata, parent, refs, run)
  local old = redis.call('HMGET', K.ck, 'b' .. nsid, 'r' .. nsid)
  if old[1] then lgthread_unref(old[1]) end
  if old[2] and old[2] ~= '' then redis.call('ZREM', K.runs, old[2] .. '\0' .. nsid) end
  redis.call('HSET', K.ck, 'c' .. nsid, checkpoint, 'm' .. nsid, metadata, 'p' .. nsid, parent,
    'b' .. nsid, refs, 'r' .. nsid, run)
  lgthread_ref(refs)
  local ns, id = lgthread_parse_nsid(nsid)
  redis.call('ZADD', K.order, 0, nsid)
  redis.call('ZADD', K.ids, 0, id .. '\0' .. ns)
  if run ~= '' then redis.call('ZADD', K.runs, 0, run .. '\0' .. nsid) end
end

-- One checkpoint as a flat reply: id, checkpoint, metadata, parent, n blobs, (ref, payload) x n,
-- n writes, (field, value) x n. Appended to `out`; false if it does not exist.
local function lgthread_tuple(out, nsid)
  local cur = redis.call('HMGET', K.ck, 'c' .. nsid, 'm' .. nsid, 'p' .. nsid, 'b' .. nsid)
  if not cur[1] then return false end
  out[#out + 1] = nsid
  out[#out + 1] = cur[1]
  out[#out + 1] = cur[2] or ''
  out[#out + 1] = cur[3] or ''
  local refs = lgthread_split(cur[4], '\1')
  local found = {}
  if #refs > 0 then
    local vals = lgthread_hmget(K.blobs, refs)
    for i = 1, #refs do
      if vals[i] then
        found[#found + 1] = refs[i]
        found[#found + 1] = vals[i]
      end
    end
  end
  out[#out + 1] = tostring(#found / 2)
  for i = 1, #found do out[#out + 1] = found[i] end
  local fields = lgthread_write_fields(nsid)
  out[#out + 1] = tostring(#fields)
  if #fields > 0 then
    local vals = lgthread_hmget(K.writes, fields)
    for i = 1, #fields do
      out[#out + 1] = fields[i]
      out[#out + 1] = vals[i] or ''
    end
  end
  return true
end
