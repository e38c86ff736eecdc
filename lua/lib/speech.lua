-- Speech helpers, pasted in by `--@include lib/speech.lua` (it includes lib/core.lua).
-- Every speech script takes the same 6 KEYS, all under the hash tag {speech:<id>}
-- (agentstate_redis/speech/manager.py, SpeechStateManager.layout):
--   1 session hash (the base key: its expiry reaches subscribers as op "expired")
--   2 ops hash   3 ops of the previous generation
--   4 STT state hash   5 TTS state hash   6 transcript stream (capped, exact MAXLEN)
--@include lib/core.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], stt = KEYS[4], tts = KEYS[5], transcript = KEYS[6]}

-- Activity: the session's keys (not its op ids) expire after its idle time again, counted from now.
local function speech_touch(idle)
  for _, key in ipairs({K.base, K.stt, K.tts, K.transcript}) do redis.call('PEXPIRE', key, idle) end
end

-- The prologue of a write on a session: the op-id replay (ARGV[1]), then the session's status.
-- Returns the status and nil, or nil and a reply to return at once: the first reply of a replayed
-- op id, NOT_FOUND, or (when ``op`` is given) TRANSITION for ``op`` on an ended session.
--   local current, stop = speech_begin('update_session_status')
--   if stop then return stop end
local function speech_begin(op)
  local replay = op_replay(K.ops, K.ops_prev, ARGV[1])
  if replay then return nil, replay end
  local current = redis.call('HGET', K.base, 'status')
  if not current then return nil, fail('NOT_FOUND', {kind = 'speech', id = ARGV[3]}) end
  if op and current == 'ended' then
    return nil, fail('TRANSITION', {kind = 'speech', id = ARGV[3], status = current, op = op})
  end
  return current, nil
end
