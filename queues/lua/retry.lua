-- retry: a file starts over with status queued, attempts 0 and a new job on its lane, one
-- event: a failed file (mfctl retry: its dead-letter entries removed, its times cleared) or a
-- done one (mfctl reprocess: it keeps id, outputs and meta until the new run replaces them).
-- ARGV: prefix events_maxlen id now from ("failed" or "done")
-- Returns {removed DLQ entries}, or {-1} when there is no record, {-2, status} when the
-- status is not `from` (nothing written then).
local id, now, from = ARGV[3], ARGV[4], ARGV[5]
local fkey = P .. 'file:' .. id
local f = redis.call('HMGET', fkey, 'status', 'type', 'path')
if not f[1] then
    return {-1}
end
if f[1] ~= from or f[2] == 'other' then
    return {-2, f[1]}
end
local lane, path = f[2], f[3] or ''
local q = P .. 'q:' .. lane
if redis.call('EXISTS', q) == 0 then
    redis.call('XGROUP', 'CREATE', q, GROUP, '0', 'MKSTREAM')
end
mf_stat_status(lane, from, 'queued')
redis.call('HSET', fkey, 'status', 'queued', 'attempts', '0', 'error', '', 'queued_at', now,
           'started_at', '', 'worker', '')
redis.call('HDEL', fkey, 'progress', 'eta_s', 'crashes')
redis.call('XADD', q, '*', 'id', id)
local removed = 0
if from == 'failed' then
    redis.call('HSET', fkey, 'finished_at', '', 'process_duration_ms', '')
    -- the DLQ is short (files that exhausted their attempts, until retried or deleted)
    local dlq = P .. 'dlq:' .. lane
    for _, e in ipairs(redis.call('XRANGE', dlq, '-', '+')) do
        for i = 1, #e[2], 2 do
            if e[2][i] == 'id' and e[2][i + 1] == id then
                removed = removed + redis.call('XDEL', dlq, e[1])
            end
        end
    end
end
mf_event({'id', id, 'status', 'queued', 'type', lane, 'path', path, 'attempts', '0',
          'again', from == 'done' and 'reprocess' or 'retry'})
return {removed}
