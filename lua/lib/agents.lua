-- Agent helpers, pasted in by `--@include lib/agents.lua` (it includes lib/core.lua and lib/lease.lua).
-- Every agents script takes the same 15 KEYS, all under the hash tag {agent:<id>}:
--   1 meta hash (v = version, seq = save sequence)   2 ops hash   3 ops of the previous generation
--   4 lease hash   5 snapshots hash (id -> doc)   6 snapshot order zset (score seq)
--   7 checkpoints hash (s:<id> the server's members of the document (JSON members, no braces), t:<id> the
--     tag of the save that wrote the body (its op id, also the body's "~op" member), x:<id> raw tracking,
--     m:<id> order member, r:<id> recoverable,
--     l:<id> lineage: cjson {b = born seq, p = parent id, pa = parent agent ('' = this one), pb = parent's
--     born seq, f = 1 if made by a fork}); meta field 'head' = '<born>|<id>' of the line's newest checkpoint
--   8 checkpoint order zset (score step, member '<seq padded>|<id>': step, then server order)
--   9 approvals stream (fields tool, rec)   10 standing decisions hash (tool -> allowed|denied)
--   11 tool usage hash (tool -> count)   12 workflow hash ('.'<field> -> JSON text, '#ts' -> ms)
--   13 recovery hash (attempts)
--   14 checkpoint body prefix: the caller's JSON object of checkpoint <id>, byte for byte as sent, is the
--     string at KEYS[14] .. ':' .. <id> (agent_body_key); the client reads it with a plain GET
--   15 staging prefix: a large body is SET by the client at KEYS[15] .. ':' .. <op id> with a PX expiry in
--     the same connection's previous command; the save RENAMEs it into place (Lua never copies it)
-- A checkpoint saved by the release before bodies had keys of their own has its whole document in the
-- checkpoints hash field d:<id> instead of s:/t:/body; every script reads both (agent_parts).
-- Lua never decodes user JSON, and never copies a checkpoint body into a larger string.
--@include lib/core.lua
--@include lib/lease.lua

local K = {
  meta = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], lease = KEYS[4],
  snaps = KEYS[5], snap_order = KEYS[6], ckpts = KEYS[7], ckpt_order = KEYS[8],
  approvals = KEYS[9], decisions = KEYS[10], tools = KEYS[11], workflow = KEYS[12],
  recovery = KEYS[13], bodies = KEYS[14], staging = KEYS[15],
}

-- Approval history cap (exact MAXLEN): at most this many records per agent.
local APPROVAL_CAP = 1000
local SEQ_WIDTH = 16

-- '2025-01-01T12:00:00.123000+00:00' for a server time in ms (civil-from-days, proleptic Gregorian).
local function agent_iso_ms(ms)
  local secs = math.floor(ms / 1000)
  local milli = ms - secs * 1000
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local h = math.floor(rem / 3600)
  local mi = math.floor((rem - h * 3600) / 60)
  local s = rem - h * 3600 - mi * 60
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03d000+00:00', y, m, d, h, mi, s, milli)
end

local function agent_bump()
  return redis.call('HINCRBY', K.meta, 'v', 1)
end

local function agent_next_seq()
  return redis.call('HINCRBY', K.meta, 'seq', 1)
end

-- Details of a LEASE failure, naming the agent.
local function agent_lease_details(agent_id, err)
  err.kind = 'agent'
  err.id = agent_id
  return err
end

-- Publish the change event and remember the reply under the op id.
-- `ref` (optional) is what the op-id memory keeps instead of a large reply: '#ckpt:<id>',
-- '#recover:<attempts>:<id>' or agent_remember_save()'s '#ckptref:...'; a replay re-reads it (agent_replayed()).
local function agent_finish(op_id, channel, agent_id, op, version, reply, extra, ref)
  local event = extra or {}
  event.key = agent_id
  event.op = op
  event.version = version
  publish(channel, event)
  op_remember(K.ops, K.ops_prev, op_id, ref or reply)
  return reply
end

-- A save's reply ('{' .. what the server added .. '}') is kept as it is up to this size; a longer
-- one (a checkpoint capturing many approvals) is kept by reference to the stored document.
local SAVE_REPLY_KEEP = 1024

-- What the op-id memory keeps for a checkpoint save: nil (the reply itself) when it is short, else
-- '#ckptref:<+ or =>:<id>' ('+' when the reply starts with '+'): the reply is the checkpoint's s:<id>
-- field while t:<id> is still this op id (agent_replayed).
local function agent_remember_save(reply, id)
  if #reply <= SAVE_REPLY_KEEP then return nil end
  return '#ckptref:' .. (string.sub(reply, 1, 1) == '+' and '+' or '=') .. ':' .. id
end

-- A save's reply: '{' .. added .. '}', after '+<n>' when the agent had no checkpoint before it: the
-- client then lists the agent in the cross-agent index as incarnation <n> (one index write per agent,
-- not per save). Incarnations count in the lease hash (field 'ix', kept by agents/delete like the fence),
-- so an index drop of a deleted agent and the add of its next incarnation converge in any order.
local function agent_save_reply(added, first)
  if not first then return '{' .. added .. '}' end
  return '+' .. redis.call('HINCRBY', K.lease, 'ix', 1) .. '{' .. added .. '}'
end

-- The text a checkpoint save's added members start with (`iso` is its JSON-encoded saved_at):
-- saved_at and sequence name one save of the agent.
local function agent_save_head(iso, seq)
  return '"saved_at":' .. iso .. ',"sequence":' .. seq .. ','
end

local agent_parts

-- The reply of a replayed op: as remembered, or re-read from what a reference names. '#ckpt:'
-- gives the checkpoint's parts (agent_parts; NOT_FOUND if since trimmed by retention). '#ckptref:'
-- rebuilds the save's reply from s:<id> if that save (op id `op_id`) is still the one stored under
-- the id; if it has since been replaced, trimmed or deleted the reply cannot be rebuilt and the replay
-- fails with NOT_FOUND (nothing is written either way). '#ckptsave:' / '#ckptnew:' are the references
-- the previous release kept (a document in d:<id>), read the same way for as long as the op memory
-- may hold them.
local function agent_replayed(reply, agent_id, op_id)
  local kind, id = string.match(reply, '^#(%a+):(.*)$')
  local function gone(cid)
    return fail('NOT_FOUND', {kind = 'checkpoint', id = (agent_id or '') .. '/' .. cid, agent_id = agent_id,
      reason = 'the save this op id made has since been replaced, trimmed or deleted; its reply cannot be replayed'})
  end
  if kind == 'ckpt' then
    if redis.call('HEXISTS', K.ckpts, 'm:' .. id) == 0 then return gone(id) end
    return agent_parts(id, -1)
  end
  if kind == 'ckptref' then
    local plus, cid = string.match(id, '^([+=]):(.*)$')
    local flat = redis.call('HMGET', K.ckpts, 's:' .. cid, 't:' .. cid)
    if not flat[1] or flat[2] ~= op_id then return gone(cid) end
    local ix = plus == '+' and ('+' .. (redis.call('HGET', K.lease, 'ix') or '0')) or ''
    return ix .. '{' .. flat[1] .. '}'
  end
  if kind == 'ckptsave' or kind == 'ckptnew' then
    local seq, ms, pos, cid = string.match(id, '^(%d+):(%d+):(%d+):(.*)$')
    pos = tonumber(pos)
    local doc = redis.call('HGET', K.ckpts, 'd:' .. cid)
    local head = agent_save_head(cjson.encode(agent_iso_ms(tonumber(ms))), seq)
    if doc and string.sub(doc, pos, pos + #head - 1) == head then
      local plus = kind == 'ckptnew' and ('+' .. (redis.call('HGET', K.lease, 'ix') or '0')) or ''
      return plus .. '{' .. string.sub(doc, pos)
    end
    return fail('NOT_FOUND', {kind = 'checkpoint', id = (agent_id or '') .. '/' .. cid, agent_id = agent_id,
      reason = 'the save this op id made has since been replaced, trimmed or deleted; its reply cannot be replayed'})
  end
  if kind == 'recover' then
    local attempts, cid = string.match(id, '^(%d+):(.*)$')
    if redis.call('HEXISTS', K.ckpts, 'm:' .. cid) == 0 then return gone(cid) end
    local out = agent_parts(cid, -1)
    table.insert(out, 1, attempts)
    return out
  end
  return reply
end

-- The tool and the record's JSON text of one approvals stream entry (an XRANGE item: id, fields).
local function agent_approval_entry(entry)
  local f = entry[2]
  local tool, rec = '', ''
  for j = 1, #f, 2 do
    if f[j] == 'tool' then tool = f[j + 1] elseif f[j] == 'rec' then rec = f[j + 1] end
  end
  return tool, rec
end

-- Every approval of the stream in recording order, flat: {tool, record JSON text, ...}.
local function agent_approvals()
  local out = {}
  local entries = redis.call('XRANGE', K.approvals, '-', '+')
  for i = 1, #entries do
    local tool, rec = agent_approval_entry(entries[i])
    out[#out + 1] = tool
    out[#out + 1] = rec
  end
  return out
end

-- The workflow state as a JSON object text, and its run_id as JSON text ('null' if unset).
local function agent_workflow_json()
  local wf = {}
  local run_id = 'null'
  local wflat = redis.call('HGETALL', K.workflow)
  for i = 1, #wflat, 2 do
    local name = wflat[i]
    if name == '#ts' then
      wf[#wf + 1] = '"last_updated":' .. cjson.encode(agent_iso_ms(tonumber(wflat[i + 1])))
    elseif string.sub(name, 1, 1) == '.' then
      wf[#wf + 1] = cjson.encode(string.sub(name, 2)) .. ':' .. wflat[i + 1]
      if name == '.run_id' then run_id = wflat[i + 1] end
    end
  end
  return run_id, '{' .. table.concat(wf, ',') .. '}'
end

-- The tracking state as JSON document pieces (built by concatenation; approvals in recording order,
-- standing decisions too, so a checkpoint restored by value keeps decisions whose records were trimmed).
local function agent_tracking_json()
  local recs = {}
  local approvals = agent_approvals()
  for i = 2, #approvals, 2 do recs[#recs + 1] = approvals[i] end
  local counts = {}
  local flat = redis.call('HGETALL', K.tools)
  for i = 1, #flat, 2 do
    counts[#counts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1]
  end
  local decisions = {}
  local dflat = redis.call('HGETALL', K.decisions)
  for i = 1, #dflat, 2 do
    decisions[#decisions + 1] = cjson.encode(dflat[i]) .. ':' .. cjson.encode(dflat[i + 1])
  end
  local run_id, wf = agent_workflow_json()
  return '"approval_history":[' .. table.concat(recs, ',') .. '],"tool_usage_counts":{' ..
    table.concat(counts, ',') .. '},"workflow_run_id":' .. run_id .. ',"workflow_state":' .. wf ..
    ',"standing_decisions":{' .. table.concat(decisions, ',') .. '}'
end

-- One approval record's JSON text (the shape record_approval stores and restore_tracking rebuilds).
local function agent_approval_json(tool, approved, action, timestamp, has_summary, summary)
  return cjson.encode({tool_name = tool, approved = approved, action = action, timestamp = timestamp,
    input_summary = has_summary == '1' and summary or cjson.null})
end

-- The tracking state as stored strings (for agent_restore_raw): never user JSON decoded, only our envelope.
local function agent_tracking_raw()
  return cjson.encode({
    a = agent_approvals(),
    d = redis.call('HGETALL', K.decisions),
    t = redis.call('HGETALL', K.tools),
    w = redis.call('HGETALL', K.workflow),
  })
end

local function agent_hset_all(key, flat)
  redis.call('DEL', key)
  for i = 1, #flat, 2 do
    redis.call('HSET', key, flat[i], flat[i + 1])
  end
end

-- Replace the agent's approvals, decisions, tool counts and workflow state with a captured set.
local function agent_restore_raw(raw)
  local t = cjson.decode(raw)
  redis.call('DEL', K.approvals)
  local a = t.a
  for i = 1, #a, 2 do
    redis.call('XADD', K.approvals, 'MAXLEN', APPROVAL_CAP, '*', 'tool', a[i], 'rec', a[i + 1])
  end
  agent_hset_all(K.decisions, t.d)
  agent_hset_all(K.tools, t.t)
  agent_hset_all(K.workflow, t.w)
end

-- Order member of a checkpoint and the id back from a member.
local function agent_ckpt_member(seq, id)
  return string.format('%0' .. SEQ_WIDTH .. 'd', seq) .. '|' .. id
end

local function agent_member_id(member)
  return string.sub(member, SEQ_WIDTH + 2)
end

-- Lineage. A checkpoint's parent is the head of the agent's line when it is first saved (a re-save of
-- the same id keeps its place); save, restore and fork move the head. A parent is named by id and
-- born seq, so an id deleted and saved again is a new node, and born seqs only grow along an edge:
-- the tree has no cycles. Its JSON members in the stored document:
local function agent_lineage_members(lin, agent_id)
  local parent = lin.p ~= '' and cjson.encode(lin.p) or 'null'
  local pagent = lin.p == '' and 'null' or cjson.encode(lin.pa ~= '' and lin.pa or agent_id)
  return ',"parent_checkpoint_id":' .. parent .. ',"parent_agent_id":' .. pagent
end

-- The lineage of a checkpoint first saved now as `seq` on this agent's line (parent = the head).
local function agent_new_lineage(seq, fork)
  local lin = {b = seq, p = '', pa = '', pb = 0, f = fork and 1 or 0}
  local head = redis.call('HGET', K.meta, 'head')
  if head then
    local b, hid = string.match(head, '^(%d+)|(.*)$')
    lin.p, lin.pb = hid, tonumber(b)
  end
  return lin
end

local function agent_set_head(born, id)
  redis.call('HSET', K.meta, 'head', born .. '|' .. id)
end

local function agent_born(id)
  local l = redis.call('HGET', K.ckpts, 'l:' .. id)
  if l then return cjson.decode(l).b end
  local m = redis.call('HGET', K.ckpts, 'm:' .. id)  -- saved before lineage existed: its first seq known
  return m and tonumber(string.sub(m, 1, SEQ_WIDTH)) or 0
end

-- Where checkpoint `id`'s body is, and where the client staged the body of the save `op_id`.
local function agent_body_key(id)
  return K.bodies .. ':' .. id
end

local function agent_stage_key(op_id)
  return K.staging .. ':' .. op_id
end

-- Checkpoint `id` as reply parts, joined by the client (agents/codec.py):
--   {'d', id, doc}: saved by the previous release, the whole document (field d:<id>)
--   {'s', id, members, tag, body}: the server's members (s:<id>), the tag of the save that wrote the body
--     (t:<id>), and the body if `inline` allows (its length <= inline; inline < 0: always), else ''.
-- Returning a body passes it through Lua (two copies); large ones are read by the client's own GET.
-- nil if there is no checkpoint `id`.
function agent_parts(id, inline)
  local flat = redis.call('HMGET', K.ckpts, 's:' .. id, 't:' .. id, 'd:' .. id)
  if flat[3] then return {'d', id, flat[3]} end
  if not flat[1] then return nil end
  local key, body = agent_body_key(id), ''
  if inline < 0 or redis.call('STRLEN', key) <= inline then body = redis.call('GET', key) or '' end
  return {'s', id, flat[1], flat[2] or '', body}
end

-- Every field and the body of checkpoint `id` (either format).
local function agent_drop_checkpoint(id)
  redis.call('HDEL', K.ckpts, 'd:' .. id, 'x:' .. id, 'm:' .. id, 'r:' .. id, 'l:' .. id, 's:' .. id, 't:' .. id)
  redis.call('DEL', agent_body_key(id))
end

-- Retention: keep the newest `keep` checkpoints (order zset), dropping every field of the others.
local function agent_trim_checkpoints(keep)
  local n = redis.call('ZCARD', K.ckpt_order)
  if n <= keep then return end
  local victims = redis.call('ZRANGE', K.ckpt_order, 0, n - keep - 1)
  for i = 1, #victims do agent_drop_checkpoint(agent_member_id(victims[i])) end
  redis.call('ZREMRANGEBYRANK', K.ckpt_order, 0, n - keep - 1)
end

-- Checkpoint `id` ('' = the latest): its id, or nil and a NOT_FOUND error reply for the script to return.
local function agent_find_checkpoint(agent_id, id)
  if id == '' then
    local top = redis.call('ZREVRANGE', K.ckpt_order, 0, 0)
    if #top == 0 then
      return nil, fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/latest', agent_id = agent_id})
    end
    return agent_member_id(top[1])
  end
  if redis.call('HEXISTS', K.ckpts, 'm:' .. id) == 0 then
    return nil, fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/' .. id, agent_id = agent_id})
  end
  return id
end

-- The prologue of every agents write that a lease guards: ARGV[1..4] (op id, channel, agent id,
-- fencing token), the op-id replay, the lease check. Returns them and the server time, then a reply
-- to return at once (the first reply of a replayed op id, or the LEASE failure), nil to go on:
--   local op_id, channel, agent_id, token, now, stop = agent_begin()
--   if stop then return stop end
-- ``on_replay(first_reply, agent_id, op_id)``, when given, turns a remembered reference into the reply.
local function agent_begin(on_replay)
  local op_id, channel, agent_id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
  local replay = op_replay(K.ops, K.ops_prev, op_id)
  if replay then
    if on_replay then replay = on_replay(replay, agent_id, op_id) end
    return op_id, channel, agent_id, token, nil, replay
  end
  local now = now_ms()
  local lerr = lease_check(K.lease, token, now)
  if lerr then return op_id, channel, agent_id, token, now, fail('LEASE', agent_lease_details(agent_id, lerr)) end
  return op_id, channel, agent_id, token, now, nil
end
