-- tools/resolve: the tool name an execution id belongs to.
-- KEYS[1] link key (the execution's tool name; its own entity, kind 'toolexec')
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- Reply: the tool name, or nil if unknown (expired or never started)
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('GET', KEYS[1])
