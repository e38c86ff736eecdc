-- speech/converse: append transcript turns (capped stream), set the speaker and optionally STT/TTS state.
-- KEYS[1] session hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] STT state hash
-- KEYS[5] TTS state hash
-- KEYS[6] transcript stream (capped at ARGV[5] entries, exact MAXLEN)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] session id (for errors and events)
-- ARGV[4] current speaker (JSON text; '' = unchanged)
-- ARGV[5] transcript cap (entries kept)
-- ARGV[6] index in the whole transcript of the first entry sent ('' = append every entry sent)
-- ARGV[7] number of STT field/value arguments (0 = STT unchanged)
-- ARGV[8] number of TTS field/value arguments (0 = TTS unchanged)
-- ARGV[9..] STT fields, then TTS fields, then transcript entries (each JSON text)
-- Reply: JSON {version = n, turn_count = n, appended = n}
-- Mode: write
-- Memory: guarded; appends turns
-- Retry: safe; a replayed op id returns the first reply; with an index, entries already stored are skipped.

--@include lib/core.lua
--@include lib/speech.lua

local base, stt, tts, transcript, ops, ops_prev = K.base, K.stt, K.tts, K.transcript, K.ops, K.ops_prev
local op_id, channel, sid, speaker, cap, first = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local n_stt, n_tts = tonumber(ARGV[7]), tonumber(ARGV[8])

local current, stop = speech_begin('update_conversation_state')
if stop then return stop end

local now = now_ms()
local pos = 9
local function replace(target, count)
  if count == 0 then return end
  redis.call('DEL', target)
  redis.call('HSET', target, 'updated_at', now)
  for i = pos, pos + count - 1, 2 do redis.call('HSET', target, ARGV[i], ARGV[i + 1]) end
  pos = pos + count
end
replace(stt, n_stt)
replace(tts, n_tts)

local turns = tonumber(redis.call('HGET', base, 'turns') or '0')
local appended = {}
for i = pos, #ARGV do
  local index = i - pos  -- 0-based position of this entry among those sent
  if first == '' or tonumber(first) + index >= turns then
    turns = turns + 1
    redis.call('XADD', transcript, 'MAXLEN', cap, '*', 'turn', turns, 'entry', ARGV[i])
    table.insert(appended, ARGV[i])
  end
end
redis.call('HSET', base, 'turns', turns, 'updated_at', now)
if speaker ~= '' then redis.call('HSET', base, 'current_speaker', speaker) end
local version = redis.call('HINCRBY', base, '#v', 1)
local idle = tonumber(redis.call('HGET', base, 'idle_ms'))
speech_touch(idle)  -- activity: the idle clock restarts

publish(channel, {key = sid, op = 'conversation', version = version, status = current, turn_count = turns,
  first_turn = turns - #appended + 1, entries = appended,
  speaker = redis.call('HGET', base, 'current_speaker') or ''})
local reply = cjson.encode({version = version, turn_count = turns, appended = #appended})
op_remember(ops, ops_prev, op_id, reply)
return reply
