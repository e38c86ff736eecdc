-- speech/create: open a speech session that expires after an idle time.
-- KEYS[1] session hash (the base key: its expiry reaches subscribers as op "expired")
-- KEYS[2] STT state hash
-- KEYS[3] TTS state hash
-- KEYS[4] transcript stream
-- KEYS[5] ops hash (current generation)
-- KEYS[6] ops of the previous generation
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] session id (for errors and events)
-- ARGV[4] idle timeout in ms (> 0)
-- ARGV[5] session type (JSON text)
-- ARGV[6] streaming mode
-- ARGV[7] config (JSON text)
-- ARGV[8] metadata (JSON text)
-- Reply: the new version ('1')
-- Mode: write
-- Memory: guarded; creates a session
-- Retry: safe; a replayed op id returns the first reply, so a retried create does not fail with EXISTS.

--@include lib/core.lua

local base, ops, ops_prev = KEYS[1], KEYS[5], KEYS[6]
local op_id, channel, sid, idle = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

if redis.call('EXISTS', base) == 1 then
  return fail('EXISTS', {kind = 'speech', id = sid})
end
local now = now_ms()
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', base, '#v', 1, 'status', 'idle', 'session_type', ARGV[5], 'streaming_mode', ARGV[6],
  'config', ARGV[7], 'metadata', ARGV[8], 'created_at', now, 'updated_at', now, 'turns', 0, 'idle_ms', idle)
redis.call('PEXPIRE', base, idle)

publish(channel, {key = sid, op = 'create', version = 1, status = 'idle', new = redis.call('HGETALL', base)})
op_remember(ops, ops_prev, op_id, '1')
return '1'
