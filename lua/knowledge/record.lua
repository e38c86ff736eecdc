-- knowledge/record: atomically add processed / failed documents to the current indexing run.
-- KEYS[1] knowledge base hash (version '#v', runs, updated_at)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] indexing progress hash
-- KEYS[5] set of source ids
-- KEYS[6] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] knowledge base id (for errors and events)
-- ARGV[4] processed documents to add (integer >= 0)
-- ARGV[5] failed documents to add (integer >= 0)
-- Reply: JSON {now = server ms, version = kb version, progress = [field, value, ...]}
-- Mode: write
-- Memory: guarded; counts documents
-- Retry: safe; a replayed op id returns the first reply and adds nothing, so counts stay exact.

--@include lib/core.lua
--@include lib/knowledge.lua

local kb, prog, ops, ops_prev = K.base, K.progress, K.ops, K.ops_prev
local op_id, channel, kb_id = ARGV[1], ARGV[2], ARGV[3]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local status = redis.call('HGET', prog, 'status')
if not status then
  return fail('NOT_FOUND', {kind = 'kb', id = kb_id, detail = 'no indexing run; call start_indexing first'})
end
if status ~= 'in_progress' and status ~= 'pending' then
  return fail('TRANSITION', {kind = 'kb', id = kb_id, status = status, op = 'record_documents'})
end

local now = now_ms()
local processed = redis.call('HINCRBY', prog, 'processed', ARGV[4])
local failed = redis.call('HINCRBY', prog, 'failed', ARGV[5])
local done = processed + failed
if status == 'pending' then
  -- the first report starts the run's clock; the rate counts what is done after it
  redis.call('HSET', prog, 'status', 'in_progress', 'started_at', now, 'rate_t0', now, 'rate_n0', done)
end
local total = tonumber(redis.call('HGET', prog, 'total') or '0')
if total > 0 and done >= total then
  redis.call('HSET', prog, 'status', 'completed', 'completed_at', now)
end
redis.call('HSET', prog, 'updated_at', now)
local version = redis.call('HINCRBY', kb, '#v', 1)
redis.call('HSET', kb, 'updated_at', now)

local new = redis.call('HGETALL', prog)
publish(channel, {key = kb_id, op = 'record', version = version, new = new,
  processed = tonumber(ARGV[4]), failed = tonumber(ARGV[5])})
local reply = cjson.encode({now = tostring(now), version = version, progress = new})
op_remember(ops, ops_prev, op_id, reply)
return reply
