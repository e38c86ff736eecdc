-- knowledge/set_progress: set the whole indexing progress of a knowledge base, checking the status move.
-- KEYS[1] knowledge base hash (version '#v', runs, updated_at)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] indexing progress hash
-- KEYS[5] set of source ids
-- KEYS[6] source hash key prefix (a source's hash is this prefix followed by its id; same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] knowledge base id (for errors and events)
-- ARGV[4] status (pending|in_progress|paused|completed|failed|cancelled)
-- ARGV[5] total documents
-- ARGV[6] processed documents
-- ARGV[7] failed documents
-- ARGV[8] error (JSON text or '' for none)
-- ARGV[9] metadata (JSON text, stored opaque)
-- Reply: JSON {now = server ms, version = kb version, progress = [field, value, ...]}
-- Mode: write
-- Memory: guarded; stores progress
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/knowledge.lua

local kb, prog, ops, ops_prev = K.base, K.progress, K.ops, K.ops_prev
local op_id, channel, kb_id, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

-- A finished run (completed, failed, cancelled) only changes through a new run (start_run).
local ALLOWED = {
  pending = {pending = true, in_progress = true, paused = true, completed = true, failed = true, cancelled = true},
  in_progress = {in_progress = true, paused = true, completed = true, failed = true, cancelled = true},
  paused = {paused = true, in_progress = true, failed = true, cancelled = true},
  completed = {completed = true},
  failed = {failed = true},
  cancelled = {cancelled = true},
}

local current = redis.call('HGET', prog, 'status')
if current and not (ALLOWED[current] and ALLOWED[current][status]) then
  return fail('TRANSITION', {kind = 'kb', id = kb_id, status = current, op = 'set status ' .. status})
end

local now = now_ms()
local old = redis.call('HGETALL', prog)
if not current then
  redis.call('HSET', prog, 'run', redis.call('HINCRBY', kb, 'runs', 1))
end
local done = tonumber(ARGV[6]) + tonumber(ARGV[7])
redis.call('HSET', prog, 'status', status, 'total', ARGV[5], 'processed', ARGV[6], 'failed', ARGV[7],
  'updated_at', now, 'metadata', ARGV[9])
if ARGV[8] ~= '' then redis.call('HSET', prog, 'error', ARGV[8]) else redis.call('HDEL', prog, 'error') end
if status == 'in_progress' and current ~= 'in_progress' then
  -- the clock starts (or restarts after a pause) now; the rate counts what is done after it
  if current ~= 'paused' then redis.call('HSET', prog, 'started_at', now) end
  redis.call('HSET', prog, 'rate_t0', now, 'rate_n0', done)
end
if (status == 'completed' or status == 'failed' or status == 'cancelled') and current ~= status then
  redis.call('HSET', prog, 'completed_at', now)
end
return kb_progress_done('update_progress', old, now)
