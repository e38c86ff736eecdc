-- orchestration/reap: hand expired leases back and make due retries pending (the claim script does this too).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] max stalls (a task whose lease expires more often goes to the dead letters)
-- ARGV[5] dead letters to keep (older ones are deleted and tombstoned)
-- ARGV[6] dedupe window in ms: how long a deleted task's id stays tombstoned (enqueue refuses it)
-- Reply: 'stalled,promoted' counts (at most 100 each per call; call again while either is 100)
-- Mode: write
-- Memory: allowed; hands expired leases back; adds no data
-- Retry: safe; only leases already expired and retries already due by the server clock move, once each.
-- Counts (team hash): stalls_total, one per expired lease collected (back to pending or dead).

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, max_stalls = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local now = now_ms()
local limits = {dead_keep = tonumber(ARGV[5]), window_ms = tonumber(ARGV[6])}
local stalled = reap_expired(base, team, now, max_stalls, channel, limits)
if stalled > 0 then redis.call('HINCRBY', base, 'stalls_total', stalled) end
local promoted = promote_due(base, team, now, channel)
local reply = stalled .. ',' .. promoted
op_remember(ops, ops_prev, op_id, reply)
return reply
