-- speech/end: end a session; it is kept for its idle time, then expires. Ending an ended session is a no-op.
-- KEYS[1] session hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] STT state hash
-- KEYS[5] TTS state hash
-- KEYS[6] transcript stream
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] session id (for errors and events)
-- ARGV[4] reason (JSON text)
-- Reply: '1' if this call ended the session, '0' if it had already ended
-- Mode: write
-- Memory: allowed; ends a session, which then expires
-- Retry: safe; a replayed op id returns the first reply, and ending twice changes nothing.

--@include lib/core.lua
--@include lib/speech.lua

local base, ops, ops_prev = K.base, K.ops, K.ops_prev
local op_id, channel, sid, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local current, stop = speech_begin(nil)
if stop then return stop end
if current == 'ended' then return '0' end

local now = now_ms()
redis.call('HSET', base, 'status', 'ended', 'ended_at', now, 'updated_at', now, 'end_reason', reason)
local version = redis.call('HINCRBY', base, '#v', 1)
local idle = tonumber(redis.call('HGET', base, 'idle_ms'))
speech_touch(idle)

publish(channel, {key = sid, op = 'end', version = version, status = 'ended', old_status = current, reason = reason})
op_remember(ops, ops_prev, op_id, '1')
return '1'
