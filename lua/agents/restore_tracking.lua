-- agents/restore_tracking: replace the agent's tracking state (approvals, decisions, counts, workflow) with a given one.
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
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] agent id (for errors and events)
-- ARGV[4] fencing token ('' = none; refused while another holder's lease is live)
-- ARGV[5] n: approval records that follow (recording order, at most the history cap)
-- ARGV[6] d: standing decisions that follow
-- ARGV[7] t: tool counts that follow
-- ARGV[8] w: workflow fields that follow
-- ARGV[9] workflow last_updated, server epoch ms ('' = none)
-- then n x 6: tool, '1' approved | '0' denied, action, ISO timestamp ('' = the server's time now),
--   '1' if an input summary follows | '0' none, input summary
-- then d x 2: tool, 'allowed' | 'denied'
-- then t x 2: tool, count (integer >= 0)
-- then w x 2: '.'<field name>, field value as JSON text (stored as it is, never decoded)
-- Reply: the agent's new version
-- Mode: write
-- Memory: guarded; writes a whole tracking state back (up to 1000 approval records)
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/agents.lua

-- HSET `count` field, value pairs of ARGV from ARGV[at] on into `key`; returns the index after them.
local function hset_pairs(key, count, at)
  for _ = 1, count do
    redis.call('HSET', key, ARGV[at], ARGV[at + 1])
    at = at + 2
  end
  return at
end

local op_id, channel, agent_id, token, now, stop = agent_begin()
if stop then return stop end

local n, d, t, w, ts = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local at = 10
redis.call('DEL', K.approvals, K.decisions, K.tools, K.workflow)
for _ = 1, n do
  local stamp = ARGV[at + 3] ~= '' and ARGV[at + 3] or agent_iso_ms(now)
  local rec = agent_approval_json(ARGV[at], ARGV[at + 1] == '1', ARGV[at + 2], stamp, ARGV[at + 4], ARGV[at + 5])
  redis.call('XADD', K.approvals, 'MAXLEN', APPROVAL_CAP, '*', 'tool', ARGV[at], 'rec', rec)
  at = at + 6
end
at = hset_pairs(K.decisions, d, at)
at = hset_pairs(K.tools, t, at)
hset_pairs(K.workflow, w, at)
if ts ~= '' then redis.call('HSET', K.workflow, '#ts', ts) end
local version = agent_bump()
return agent_finish(op_id, channel, agent_id, 'restore', version, tostring(version), {source = 'state'})
