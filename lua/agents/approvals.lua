-- agents/approvals: approval records (the most recent `limit`), in recording order or newest first, optionally of one tool.
-- KEYS[1] agent meta hash (v, seq)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] lease hash
-- KEYS[5] snapshots hash
-- KEYS[6] snapshot order zset
-- KEYS[7] checkpoints hash
-- KEYS[8] checkpoint order zset
-- KEYS[9] approvals stream
-- KEYS[10] standing decisions hash
-- KEYS[11] tool usage hash
-- KEYS[12] workflow state hash
-- KEYS[13] recovery hash
-- KEYS[14] checkpoint body key prefix (body of checkpoint <id>: this .. ":" .. <id>, a string)
-- KEYS[15] staging key prefix (a large body SET by the client at this .. ":" .. <op id>, PX)
-- ARGV[1] tool name ('' = every tool)
-- ARGV[2] how many (0 = all): the most recent ones
-- ARGV[3] '1' newest first, '0' recording order (oldest first)
-- Reply: array of record JSON texts
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua


local tool, limit, newest_first = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local entries
if tool == '' and limit > 0 then
  entries = redis.call('XREVRANGE', K.approvals, '+', '-', 'COUNT', limit)
else
  entries = redis.call('XREVRANGE', K.approvals, '+', '-')
end
local out = {}
for i = 1, #entries do
  local t, rec = agent_approval_entry(entries[i])
  if tool == '' or t == tool then
    out[#out + 1] = rec
    if limit > 0 and #out >= limit then break end
  end
end
if not newest_first then
  local n = #out
  for i = 1, math.floor(n / 2) do
    out[i], out[n - i + 1] = out[n - i + 1], out[i]
  end
end
return out
