-- Shared helpers, pasted into a script by `--@include lib/core.lua`.
-- KEYS: none of its own; the functions take the keys the including script passes them.

-- The server's clock, read once per script (a script runs in one instant): {seconds, microseconds}.
local server_clock = nil
local function server_time()
  if not server_clock then server_clock = redis.call('TIME') end
  return server_clock
end

-- Milliseconds from the server's clock: the only clock leases, retries and TTLs use.
local function now_ms()
  local t = server_time()
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- cjson writes numbers with 14 significant digits, too few for a fencing token (16 digits, see
-- next_fence): `encode` writes a `token` field that holds a string of digits as a JSON number,
-- exactly. Everything else is cjson's.
local function encode(object)
  local token = object.token
  if type(token) ~= 'string' or not string.match(token, '^%d+$') then return cjson.encode(object) end
  object.token = nil
  local text = cjson.encode(object)
  object.token = token
  if text == '{}' then return '{"token":' .. token .. '}' end
  return string.sub(text, 1, -2) .. ',"token":' .. token .. '}'
end

-- A typed error reply ("ASR_<CODE> {json}"); the Python side maps CODE to an exception.
-- Only ever `return fail(...)` from the script's top level.
local function fail(code, details)
  return redis.error_reply('ASR_' .. code .. ' ' .. encode(details))
end

-- Change events are bounded. Redis drops a subscriber whose output buffer passes its pub/sub
-- limit (32 MB, or 8 MB for 60 s, by default), so a few events carrying huge values would cut
-- every subscriber off. An event over EVENT_MAX_BYTES goes out without its large fields: it
-- keeps key, op, version and every field of at most EVENT_FIELD_KEPT bytes, and says
-- `truncated = true, omitted = {<field> = <bytes as stored>}`; subscribers read the value.
local EVENT_MAX_BYTES = 65536 --@param max_event_bytes
local EVENT_FIELD_KEPT = 1024

-- The bytes of a value's strings (1 for a number or boolean): never more than its JSON.
local function stored_bytes(value)
  local kind = type(value)
  if kind == 'string' then return #value end
  if kind ~= 'table' then return 1 end
  local n = 0
  for _, item in pairs(value) do n = n + stored_bytes(item) end
  return n
end

local function bounded_event(event)
  local small, omitted = {truncated = true}, {}
  for name, value in pairs(event) do
    local size = stored_bytes(value)
    if name == 'key' or name == 'op' or name == 'version' or size <= EVENT_FIELD_KEPT then
      small[name] = value
    else
      omitted[name] = size
    end
  end
  small.omitted = omitted
  return encode(small)
end

-- Publish a change event; an empty channel means events are switched off.
local function publish(channel, event)
  if channel == '' then return end
  local encoded
  if stored_bytes(event) <= EVENT_MAX_BYTES then  -- a huge event is never encoded whole
    encoded = encode(event)
  end
  if encoded == nil or #encoded > EVENT_MAX_BYTES then
    encoded = bounded_event(event)
  end
  redis.call('PUBLISH', channel, encoded)
end

-- The next fencing token of an entity whose counter is `field` of hash `key`, as a decimal string.
-- It is greater than every token issued before, even when the counter was lost (the keys evicted,
-- deleted, or lost in a failover) and the entity re-created: max(stored + 1, the server clock in
-- microseconds). A stale holder's token then never equals a new one. The bound: tokens issued
-- faster than one a microsecond, sustained, run ahead of the clock, and a loss right after such a
-- run (or a clock that stepped back further than the time since) could repeat one. Below 2^53
-- until the year 2255, so exact in a Lua number; a string because tostring() keeps 14 digits.
local function next_fence(key, field)
  local t = server_time()
  local clock = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local token = string.format('%.0f', math.max((tonumber(redis.call('HGET', key, field) or '') or 0) + 1, clock))
  redis.call('HSET', key, field, token)
  return token
end

-- Retry de-duplication: the reply of every operation id seen in the last OP_TTL_MS, so a
-- replayed op id gets its first reply and writes nothing. The window is time: it must outlast
-- the client's retries (retry_seconds plus one socket timeout, 20 s by default). Ids live in two
-- generations of hashes, `ops` (current) and `ops_prev`. A generation is born with a TTL of two
-- windows and becomes `ops_prev` (replacing the one before) once it is a window old, so every id
-- is kept for at least one window, and remembering one costs a PTTL and an HSET instead of
-- maintaining a sorted index. OP_GEN_CAP bounds memory (at most about twice
-- that many ids) for an entity written faster than OP_GEN_CAP per window: its generations then
-- turn over sooner, and an id is only kept for the next OP_GEN_CAP writes of that entity (3 s at
-- 32k writes/s, shorter than a retry can take: the bound is memory's, not the guarantee's).
local OP_TTL_MS = 60000 --@param op_window_ms
local OP_GEN_CAP = 100000

local function op_replay(ops_key, prev_key, op_id)
  if op_id == '' then return nil end
  return redis.call('HGET', ops_key, op_id) or redis.call('HGET', prev_key, op_id) or nil
end

-- The current generation becomes the previous one. The one it replaces may hold OP_GEN_CAP ids:
-- UNLINK frees it off the main thread. A generation that lost its TTL (PERSIST, a restore) gets one.
local function op_next_generation(ops_key, prev_key, left)
  redis.call('UNLINK', prev_key)
  redis.call('RENAME', ops_key, prev_key)
  if left == -1 then redis.call('PEXPIRE', prev_key, OP_TTL_MS) end
end

local function op_remember(ops_key, prev_key, op_id, reply)
  if op_id == '' then return end
  local left = redis.call('PTTL', ops_key)  -- -2: no current generation yet
  if left ~= -2 and left < OP_TTL_MS then
    op_next_generation(ops_key, prev_key, left)
    left = -2
  end
  redis.call('HSET', ops_key, op_id, reply)
  if left == -2 then
    redis.call('PEXPIRE', ops_key, 2 * OP_TTL_MS)
  elseif string.byte(op_id) == 48 and redis.call('HLEN', ops_key) > OP_GEN_CAP then
    -- ids are random hex: checking the size on one id in 16 ('0...') keeps the common path short
    op_next_generation(ops_key, prev_key, left)
  end
end
