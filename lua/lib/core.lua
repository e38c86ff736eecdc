-- Shared helpers, pasted into a script by `--@include lib/core.lua`.
-- KEYS: none of its own; the functions take the keys the including script passes them.

-- Milliseconds from the server's clock: the only clock leases, retries and TTLs use.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A typed error reply ("ASR_<CODE> {json}"); the Python side maps CODE to an exception.
-- Only ever `return fail(...)` from the script's top level.
local function fail(code, details)
  return redis.error_reply('ASR_' .. code .. ' ' .. cjson.encode(details))
end

-- Publish a change event; an empty channel means events are switched off.
local function publish(channel, event)
  if channel ~= '' then
    redis.call('PUBLISH', channel, cjson.encode(event))
  end
end

-- Retry de-duplication: the reply of every operation id seen in the last OP_TTL_MS, so a
-- replayed op id gets its first reply and writes nothing. The window is time, not a count:
-- it must outlast the client's retries (retry_seconds plus one socket timeout, 20 s by
-- default). OP_CAP bounds memory for an entity written faster than OP_CAP per window.
local OP_TTL_MS = 60000
local OP_CAP = 100000
local OP_TRIM = 100

local function op_replay(ops_key, op_id)
  if op_id == '' then return nil end
  local reply = redis.call('HGET', ops_key, op_id)
  if reply then return reply end
  return nil
end

local function op_remember(ops_key, order_key, op_id, reply)
  if op_id == '' then return end
  local now = now_ms()
  redis.call('HSET', ops_key, op_id, reply)
  redis.call('ZADD', order_key, now, op_id)
  local expired = redis.call('ZRANGEBYSCORE', order_key, '-inf', now - OP_TTL_MS, 'LIMIT', 0, OP_TRIM)
  if #expired > 0 then
    redis.call('HDEL', ops_key, unpack(expired))
    redis.call('ZREM', order_key, unpack(expired))
  end
  if redis.call('ZCARD', order_key) > OP_CAP then
    local oldest = redis.call('ZRANGE', order_key, 0, 0)
    redis.call('HDEL', ops_key, oldest[1])
    redis.call('ZREM', order_key, oldest[1])
  end
  redis.call('PEXPIRE', ops_key, OP_TTL_MS)
  redis.call('PEXPIRE', order_key, OP_TTL_MS)
end
