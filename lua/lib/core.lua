-- Shared helpers, pasted into a script by `--@include lib/core.lua`.

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

-- Retry de-duplication: the reply of each recent operation id, kept for 10 minutes,
-- at most OP_KEEP per entity. A replayed op id gets its first reply and writes nothing.
local OP_KEEP = 128
local OP_TTL_MS = 600000

local function op_replay(ops_key, op_id)
  if op_id == '' then return nil end
  local reply = redis.call('HGET', ops_key, op_id)
  if reply then return reply end
  return nil
end

local function op_remember(ops_key, order_key, op_id, reply)
  if op_id == '' then return end
  redis.call('HSET', ops_key, op_id, reply)
  redis.call('LPUSH', order_key, op_id)
  if redis.call('LLEN', order_key) > OP_KEEP then
    redis.call('HDEL', ops_key, redis.call('RPOP', order_key))
  end
  redis.call('PEXPIRE', ops_key, OP_TTL_MS)
  redis.call('PEXPIRE', order_key, OP_TTL_MS)
end
