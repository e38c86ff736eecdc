-- Creating tasks, shared by orchestration/enqueue and orchestration/create_team
-- (needs lib/core.lua and lib/orchestration.lua first).
-- KEYS: the including script's KEYS[1] (the team base key); sub-keys derive from it.

-- One task: its hash and its place in the pending zset of its capability ('' = any agent), unless the
-- id already exists or finished and was forgotten within the dedupe window (see enqueue_tasks).
-- `due` (ms, server clock, later than `now`; nil = now) makes it delayed: in :delayed until then.
-- Returns true if it was created; the caller wakes blocked claimers (wake) for what it created.
-- Also used by orchestration/schedule_fire, whose tasks come from a stored template, not from ARGV.
local function enqueue_one(base, now, id, kind, cap, prio, max_attempts, payload, due)
  local t = tkey(base, id)
  if redis.call('EXISTS', t) == 1 or is_gone(base, id) then return false end
  local seq = redis.call('HINCRBY', base, 'seq', 1)
  local score = num((PRIO_OFFSET - tonumber(prio)) * SEQ_SPAN + seq)
  -- Only what a pending task needs: its id is in its key (task_view adds it to replies), and the
  -- counters, holder, token and payload are absent until they have a value (readers default them).
  redis.call('HSET', t, 'type', kind, 'cap', cap, 'prio', prio, 'score', score,
    'max_attempts', max_attempts, 'status', 'pending', 'enqueued_at', now)
  if payload ~= '' then redis.call('HSET', t, 'payload', payload) end
  if due then
    redis.call('HSET', t, 'status', 'delayed', 'next_run_at', num(due))
    redis.call('ZADD', sub(base, CTL.delayed), num(due), id)
    redis.call('HSET', base, CTL_FIELDS.has_delayed, '1')
  else
    redis.call('ZADD', pkey(base, cap), score, id)
    if cap ~= '' then redis.call('SADD', sub(base, 'caps'), cap) end
  end
  return true
end

-- ARGV from index `first` on: 6 fields per task: id, type, capability ('' = any agent),
-- priority (integer -1000..1000), max attempts, payload (opaque JSON; '' = no data and no extra fields).
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
    local id, cap = ARGV[i], ARGV[i + 2]
    marks[#marks + 1] = '0'
    if enqueue_one(base, now, id, ARGV[i + 1], cap, ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], due) then
      marks[#marks] = '1'
      counts[cap] = (counts[cap] or 0) + 1
      created[#created + 1] = id
    end
  end
  -- delayed tasks wake one claimer per capability too: a blocked claimer then waits for the new due time
  for cap, n in pairs(counts) do wake(base, cap, due and 1 or n) end
  return created, marks
end
