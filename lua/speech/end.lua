-- speech/end: end a session; it is kept for its idle time, then expires. Ending an ended session is a no-op.
-- KEYS[1] session hash
-- KEYS[2] STT state hash
-- KEYS[3] TTS state hash
-- KEYS[4] transcript stream
-- KEYS[5] ops hash (current generation)
-- KEYS[6] ops of the previous generation
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] session id (for errors and events)
-- ARGV[4] reason (JSON text)
-- Reply: '1' if this call ended the session, '0' if it had already ended
-- Mode: write
-- Memory: allowed; ends a session, which then expires
-- Retry: safe; a replayed op id returns the first reply, and ending twice changes nothing.

--@include lib/core.lua

local base, ops, ops_prev = KEYS[1], KEYS[5], KEYS[6]
local op_id, channel, sid, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local current = redis.call('HGET', base, 'status')
if not current then return fail('NOT_FOUND', {kind = 'speech', id = sid}) end
if current == 'ended' then return '0' end

local now = now_ms()
redis.call('HSET', base, 'status', 'ended', 'ended_at', now, 'updated_at', now, 'end_reason', reason)
local version = redis.call('HINCRBY', base, '#v', 1)
local idle = tonumber(redis.call('HGET', base, 'idle_ms'))
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], idle) end

publish(channel, {key = sid, op = 'end', version = version, status = 'ended', old_status = current, reason = reason})
op_remember(ops, ops_prev, op_id, '1')
return '1'
