-- health/probe: one small write that expires, so `agentstate health` knows writes are taken.
-- KEYS[1] probe key (a `{health:<id>}` entity of its own; nothing else reads or writes it)
-- ARGV[1] its time to live in ms
-- Reply: '1'
-- Mode: write
-- Memory: guarded; the probe must be refused exactly when writes that add data are
-- Retry: safe; setting the same key again only restarts its short TTL.
--
-- Refused, like every write, on a read-only replica, by an ACL that forbids the key, after a
-- failed save (MISCONF), and (guarded) when the server is over maxmemory.

redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return '1'
