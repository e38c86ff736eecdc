-- speech/create: open a speech session that expires after an idle time.
-- KEYS[1] session hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] STT state hash
-- KEYS[5] TTS state hash
-- KEYS[6] transcript stream
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
--@include lib/speech.lua

local base, ops, ops_prev = K.base, K.ops, K.ops_prev
local op_id, channel, sid, idle = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

if redis.call('EXISTS', base) == 1 then
  return fail('EXISTS', {kind = 'speech', id = sid})
end
local now = now_ms()
redis.call('DEL', K.stt, K.tts, K.transcript)
redis.call('HSET', base, '#v', 1, 'status', 'idle', 'session_type', ARGV[5], 'streaming_mode', ARGV[6],
  'config', ARGV[7], 'metadata', ARGV[8], 'created_at', now, 'updated_at', now, 'turns', 0, 'idle_ms', idle)
redis.call('PEXPIRE', base, idle)

publish(channel, {key = sid, op = 'create', version = 1, status = 'idle', new = redis.call('HGETALL', base)})
op_remember(ops, ops_prev, op_id, '1')
return '1'
