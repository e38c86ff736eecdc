-- speech/set_part: replace the STT or the TTS state of a live session.
-- KEYS[1] session hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] STT state hash
-- KEYS[5] TTS state hash
-- KEYS[6] transcript stream
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] session id (for errors and events)
-- ARGV[4] part: 'stt' (writes KEYS[4]) or 'tts' (writes KEYS[5])
-- ARGV[5..] field, value (JSON text), ...
-- Reply: the new session version (string)
-- Mode: write
-- Memory: guarded; stores STT/TTS state
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/speech.lua

local base, ops, ops_prev = K.base, K.ops, K.ops_prev
local op_id, channel, sid, part = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local target = K.stt
if part == 'tts' then target = K.tts end

local current, stop = speech_begin('update_' .. part .. '_state')
if stop then return stop end

local now = now_ms()
redis.call('DEL', target)
redis.call('HSET', target, 'updated_at', now)
for i = 5, #ARGV, 2 do
  redis.call('HSET', target, ARGV[i], ARGV[i + 1])
end
redis.call('HSET', base, 'updated_at', now)
local version = redis.call('HINCRBY', base, '#v', 1)
local idle = tonumber(redis.call('HGET', base, 'idle_ms'))
speech_touch(idle)  -- activity: the idle clock restarts

publish(channel, {key = sid, op = 'update_' .. part, version = version, status = current,
  new = redis.call('HGETALL', target)})
op_remember(ops, ops_prev, op_id, tostring(version))
return tostring(version)
