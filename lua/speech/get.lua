-- speech/get: one consistent view of a session: its hash, STT and TTS state, the latest transcript entries.
-- KEYS[1] session hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] STT state hash
-- KEYS[5] TTS state hash
-- KEYS[6] transcript stream
-- ARGV[1] transcript entries to return, newest last (0 = none)
-- Reply: {ms to expiry, [session field, value, ...], [STT ...], [TTS ...], [turn, entry, turn, entry, ...]}
-- Mode: read
-- Retry: safe; writes nothing (reading is not activity: the idle clock keeps running).

--@include lib/speech.lua

local limit = tonumber(ARGV[1])
local entries = {}
if limit > 0 then
  local rows = redis.call('XREVRANGE', K.transcript, '+', '-', 'COUNT', limit)
  for i = #rows, 1, -1 do
    local f = rows[i][2]
    local turn, entry
    for j = 1, #f, 2 do
      if f[j] == 'turn' then turn = f[j + 1] elseif f[j] == 'entry' then entry = f[j + 1] end
    end
    table.insert(entries, turn)
    table.insert(entries, entry)
  end
end
return {redis.call('PTTL', K.base), redis.call('HGETALL', K.base), redis.call('HGETALL', K.stt),
  redis.call('HGETALL', K.tts), entries}
