-- tools/resolve: the tool name an execution id belongs to.
-- KEYS[1] link key (kind 'toolexec')
-- Reply: the tool name, or nil if unknown (expired or never started)
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('GET', KEYS[1])
