-- Entity ownership leases with fencing tokens, pasted in by `--@include lib/lease.lua`
-- (it includes lib/core.lua). The lease lives in its own hash: owner, token, until (ms),
-- and fence, the last token issued (next_fence: only grows, even across a lost lease hash),
-- so a token is never handed out twice. Tokens are decimal strings.
-- KEYS: none of its own; each function takes the lease hash key of the including script.
--@include lib/core.lua

-- Take (or renew, for the same owner) the lease. Returns token (string), nil or nil, error details.
local function lease_acquire(lease_key, owner, ttl_ms, now)
  local cur = redis.call('HMGET', lease_key, 'owner', 'token', 'until')
  local held = cur[1] and cur[1] ~= '' and tonumber(cur[3] or '0') > now
  if held and cur[1] ~= owner then
    return nil, {reason = 'lease held by ' .. cur[1], holder = cur[1], expires_in_ms = tonumber(cur[3]) - now}
  end
  local token
  if held then
    token = cur[2]
  else
    token = next_fence(lease_key, 'fence')
  end
  redis.call('HSET', lease_key, 'owner', owner, 'token', token, 'until', now + ttl_ms)
  return token, nil
end

-- Is a write carrying `token` ('' = none) allowed now? Returns nil if so, else error details.
-- Without a token a write is allowed only while nobody holds a live lease.
local function lease_check(lease_key, token, now)
  local cur = redis.call('HMGET', lease_key, 'owner', 'token', 'until')
  local live = cur[1] and cur[1] ~= '' and tonumber(cur[3] or '0') > now
  if token == '' then
    if live then
      return {reason = 'lease held by ' .. cur[1] .. '; pass its fencing token', holder = cur[1]}
    end
    return nil
  end
  if cur[2] == false or tonumber(cur[2]) ~= tonumber(token) then
    return {reason = 'stale fencing token ' .. token .. ' (current ' .. tostring(cur[2]) .. ')', token = token}
  end
  -- The current token passes even after expiry: nobody has taken the lease since.
  return nil
end

-- lease_check for a write to entity `kind` `id`: nil if it is allowed, else the LEASE failure to return
-- (the check's details plus kind and id): `stop = lease_refusal(K.lease, token, now, 'workflow', id)`.
local function lease_refusal(lease_key, token, now, kind, id)
  local err = lease_check(lease_key, token, now)
  if not err then return nil end
  err.kind, err.id = kind, id
  return fail('LEASE', err)
end

-- Extend a lease held with `token`. Returns nil or error details.
local function lease_renew(lease_key, token, ttl_ms, now)
  local err = lease_check(lease_key, token, now)
  if err then return err end
  redis.call('HSET', lease_key, 'until', now + ttl_ms)
  return nil
end

-- Give the lease up. The token dies with it (a released token can neither write nor
-- renew); the fence counter stays, so the next holder gets a larger token.
local function lease_release(lease_key, token, now)
  local err = lease_check(lease_key, token, now)
  if err then return err end
  redis.call('HSET', lease_key, 'owner', '', 'until', 0, 'token', '')
  return nil
end
