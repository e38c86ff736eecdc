-- orchestration/agents: a team's agents, optionally only the available ones with a capability.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] ms without a heartbeat after which an agent that has sent heartbeats is offline
-- ARGV[3] '1' = only agents whose status is 'idle' and that are online
-- ARGV[4] required capability ('' = any)
-- Reply: JSON list of flat agent hashes (plus 'online'), sorted by agent id
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team, offline_ms, only_available, cap = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local now = now_ms()
local ids = redis.call('SMEMBERS', sub(base, 'agents'))
table.sort(ids)
local out = {}
for _, id in ipairs(ids) do
  local a = akey(base, id)
  local f = redis.call('HMGET', a, 'status', 'caps')
  if f[1] and has_cap(f[2] or '\n', cap) and (only_available ~= '1' or f[1] == 'idle') then
    local flat, online = agent_view(base, id, now, offline_ms)
    if online or only_available ~= '1' then out[#out + 1] = flat end
  end
end
return cjson.encode(out)
