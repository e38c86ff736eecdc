-- knowledge/start_run: begin a new indexing run of a knowledge base: counters reset, clock started.
-- KEYS[1] knowledge base hash (version '#v', runs, updated_at)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] indexing progress hash
-- KEYS[5] set of source ids
-- KEYS[6] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] knowledge base id (for errors and events)
-- ARGV[4] total documents (integer >= 0)
-- ARGV[5] metadata (JSON text, stored opaque)
-- ARGV[6] '1' to abandon a run that is in progress or paused, '0' to refuse (TRANSITION)
-- Reply: JSON {now = server ms, version = kb version, progress = [field, value, ...]}
-- Mode: write
-- Memory: guarded; starts a run
-- Retry: safe; a replayed op id returns the first reply and writes nothing (no second run starts).

--@include lib/core.lua
--@include lib/knowledge.lua

local kb, prog, ops, ops_prev = K.base, K.progress, K.ops, K.ops_prev
local op_id, channel, kb_id = ARGV[1], ARGV[2], ARGV[3]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local status = redis.call('HGET', prog, 'status')
if (status == 'in_progress' or status == 'paused') and ARGV[6] ~= '1' then
  return fail('TRANSITION', {kind = 'kb', id = kb_id, status = status, op = 'start_indexing'})
end

local now = now_ms()
local old = redis.call('HGETALL', prog)
local run = redis.call('HINCRBY', kb, 'runs', 1)
redis.call('DEL', prog)
redis.call('HSET', prog, 'status', 'in_progress', 'run', run, 'total', ARGV[4], 'processed', 0, 'failed', 0,
  'started_at', now, 'updated_at', now, 'rate_t0', now, 'rate_n0', 0, 'metadata', ARGV[5])
return kb_progress_done('start_indexing', old, now)
