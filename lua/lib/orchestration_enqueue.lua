-- Creating tasks, shared by orchestration/enqueue and orchestration/create_team
-- (needs lib/core.lua and lib/orchestration.lua first).
-- KEYS: the including script's KEYS[1] (the team base key); sub-keys derive from it.

-- ARGV from index `first` on: 6 fields per task: id, type, capability ('' = any agent),
-- priority (integer -1000..1000), max attempts, payload (opaque JSON).
-- An id that already exists, or that finished and was forgotten (trimmed or purged) within the
-- dedupe window, is left alone: enqueue is idempotent by task id for that long. `window_ms` nil =
-- every tombstone counts. `due` (ms, server clock; nil = now) later than `now` makes the new tasks
-- delayed: in :delayed until then, claimable after (a claim or reap promotes them).
-- Returns the list of created ids and one mark per task ('1' created, '0' not).
local function enqueue_tasks(base, now, first, window_ms, due)
  if due and due <= now then due = nil end
  local created = {}
  local marks = {}
  local counts = {}
  if window_ms then trim_gone(base, now, window_ms) end
  for i = first, #ARGV, 6 do
    local id = ARGV[i]
    local t = tkey(base, id)
    marks[#marks + 1] = '0'
    if redis.call('EXISTS', t) == 0 and not is_gone(base, id) then
      marks[#marks] = '1'
      local cap = ARGV[i + 2]
      local seq = redis.call('HINCRBY', base, 'seq', 1)
      local score = num((PRIO_OFFSET - tonumber(ARGV[i + 3])) * SEQ_SPAN + seq)
      redis.call('HSET', t, 'id', id, 'type', ARGV[i + 1], 'cap', cap, 'prio', ARGV[i + 3], 'score', score,
        'max_attempts', ARGV[i + 4], 'payload', ARGV[i + 5], 'status', 'pending', 'attempts', 0,
        'failures', 0, 'stalls', 0, 'enqueued_at', now, 'agent', '', 'token', '')
      if due then
        redis.call('HSET', t, 'status', 'delayed', 'next_run_at', num(due))
        redis.call('ZADD', sub(base, CTL.delayed), num(due), id)
        redis.call('HSET', base, CTL_FIELDS.has_delayed, '1')
      else
        redis.call('ZADD', pkey(base, cap), score, id)
        if cap ~= '' then redis.call('SADD', sub(base, 'caps'), cap) end
      end
      counts[cap] = (counts[cap] or 0) + 1
      created[#created + 1] = id
    end
  end
  -- delayed tasks wake one claimer per capability too: a blocked claimer then waits for the new due time
  for cap, n in pairs(counts) do wake(base, cap, due and 1 or n) end
  return created, marks
end
