-- orchestration/get_limits: a team's claim limits, each scope with its current use.
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- Reply: JSON [{capability ('' = the whole team), max_in_progress, max_per_second, in_progress,
--   last_second = claims in the last 1000 ms, retry_ms = ms until a claim may pass (0 = now)}],
--   the whole team first (when limited), then capabilities by name; [] without limits
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_limits.lua

local base, team = KEYS[1], ARGV[1]
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local lim = limits_read(base)
if not lim then return '[]' end
local scopes, seen = {}, {}
for field in pairs(lim) do
  local scope = string.match(field, '^[%w_]+:(.*)$')
  if scope and not seen[scope] then seen[scope] = true; scopes[#scopes + 1] = scope end
end
table.sort(scopes)
local now = now_ms()
local rows = {}
for i, scope in ipairs(scopes) do rows[i] = limits_row(base, lim, scope, now) end
return cjson.encode(rows)
