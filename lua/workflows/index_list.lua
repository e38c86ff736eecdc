-- workflows/index_list: one page of workflow ids with a status, in id order.
-- KEYS[1] index zset
-- ARGV[1] status
-- ARGV[2] list ids after this one ('' = from the start)
-- ARGV[3] page size
-- Reply: {'<status>:<id>', ...}
-- Mode: read
-- Retry: safe; writes nothing.

local status, after = ARGV[1], ARGV[2]
local lo = '[' .. status .. ':'
if after ~= '' then lo = '(' .. status .. ':' .. after end
return redis.call('ZRANGEBYLEX', KEYS[1], lo, '(' .. status .. ';', 'LIMIT', 0, tonumber(ARGV[3]))
