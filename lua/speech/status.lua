-- speech/status: change the status of a live session (ending goes through speech/end).
-- KEYS[1] session hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] STT state hash
-- KEYS[5] TTS state hash
-- KEYS[6] transcript stream
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] session id (for errors and events)
-- ARGV[4] new status (idle|active|paused|error)
-- Reply: the new version (string)
-- Mode: write
-- Memory: guarded; changes a live session
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/speech.lua

local base, ops, ops_prev = K.base, K.ops, K.ops_prev
local op_id, channel, sid, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local current, stop = speech_begin('update_session_status')
if stop then return stop end

local now = now_ms()
redis.call('HSET', base, 'status', status, 'updated_at', now)
local version = redis.call('HINCRBY', base, '#v', 1)
local idle = tonumber(redis.call('HGET', base, 'idle_ms'))
speech_touch(idle)  -- activity: the idle clock restarts

publish(channel, {key = sid, op = 'status', version = version, status = status, old_status = current})
op_remember(ops, ops_prev, op_id, tostring(version))
return tostring(version)
