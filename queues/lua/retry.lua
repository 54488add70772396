-- retry: a failed file gets a fresh start (mfctl retry): status queued, attempts 0, a new job
-- on its lane, its dead-letter entries removed.
-- ARGV: prefix events_maxlen id now
-- Returns {removed DLQ entries}, or {-1} when there is no record, {-2, status} when the
-- status is not failed (nothing written then).
local id, now = ARGV[3], ARGV[4]
local fkey = P .. 'file:' .. id
local f = redis.call('HMGET', fkey, 'status', 'type', 'path')
if not f[1] then
    return {-1}
end
if f[1] ~= 'failed' or f[2] == 'other' then
    return {-2, f[1]}
end
local lane, path = f[2], f[3] or ''
local q = P .. 'q:' .. lane
if redis.call('EXISTS', q) == 0 then
    redis.call('XGROUP', 'CREATE', q, GROUP, '0', 'MKSTREAM')
end
mf_stat_status(lane, 'failed', 'queued')
redis.call('HSET', fkey, 'status', 'queued', 'attempts', '0', 'error', '', 'queued_at', now,
           'started_at', '', 'finished_at', '', 'process_duration_ms', '', 'worker', '')
redis.call('XADD', q, '*', 'id', id)
-- the DLQ is short (files that exhausted their attempts, until retried or deleted)
local dlq, removed = P .. 'dlq:' .. lane, 0
for _, e in ipairs(redis.call('XRANGE', dlq, '-', '+')) do
    for i = 1, #e[2], 2 do
        if e[2][i] == 'id' and e[2][i + 1] == id then
            removed = removed + redis.call('XDEL', dlq, e[1])
        end
    end
end
mf_event({'id', id, 'status', 'queued', 'type', lane, 'path', path, 'attempts', '0'})
return {removed}
